export declare function probe(url: string, timeoutMs?: number): Promise<boolean>;
export declare const defaults: { REDIS_URL: string; DATABASE_URL: string; AMQP_URL: string };
