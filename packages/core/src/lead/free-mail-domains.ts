/**
 * Free-mail and consumer mailbox providers. An address at one of these says
 * nothing about the person's employer, so it never becomes a company domain.
 */

/** Exact consumer mailbox domains (lower case). */
export const FREE_MAIL_DOMAINS: ReadonlySet<string> = new Set([
  // Google
  'gmail.com',
  'googlemail.com',
  // Yahoo / Verizon
  'ymail.com',
  'rocketmail.com',
  'yahoodns.net',
  'aol.com',
  'aim.com',
  'verizon.net',
  // Microsoft
  'msn.com',
  'passport.com',
  'windowslive.com',
  // Apple
  'icloud.com',
  'me.com',
  'mac.com',
  // Privacy-focused and independent
  'proton.me',
  'protonmail.com',
  'protonmail.ch',
  'pm.me',
  'tutanota.com',
  'tutanota.de',
  'tutamail.com',
  'tuta.io',
  'tuta.com',
  'fastmail.com',
  'fastmail.fm',
  'hey.com',
  'hushmail.com',
  'mailfence.com',
  'posteo.de',
  'posteo.net',
  'mailbox.org',
  'runbox.com',
  'disroot.org',
  'zoho.com',
  'zohomail.com',
  'zohomail.eu',
  'mail.com',
  'email.com',
  'inbox.com',
  'gmx.com',
  'gmx.net',
  'gmx.de',
  // Germany, Austria, Switzerland
  'web.de',
  't-online.de',
  'freenet.de',
  'arcor.de',
  'bluewin.ch',
  'chello.at',
  // France, Belgium
  'orange.fr',
  'wanadoo.fr',
  'free.fr',
  'laposte.net',
  'sfr.fr',
  'neuf.fr',
  'skynet.be',
  'telenet.be',
  // Italy, Spain, Portugal
  'libero.it',
  'virgilio.it',
  'tiscali.it',
  'alice.it',
  'tim.it',
  'terra.es',
  'telefonica.net',
  'sapo.pt',
  // United Kingdom, Ireland
  'btinternet.com',
  'sky.com',
  'talktalk.net',
  'virginmedia.com',
  'blueyonder.co.uk',
  'ntlworld.com',
  'eircom.net',
  // Netherlands, Nordics, Poland, Czechia
  'ziggo.nl',
  'kpnmail.nl',
  'planet.nl',
  'home.nl',
  'telia.com',
  'online.no',
  'wp.pl',
  'o2.pl',
  'onet.pl',
  'interia.pl',
  'seznam.cz',
  'centrum.cz',
  // Russia and neighbours
  'mail.ru',
  'inbox.ru',
  'list.ru',
  'bk.ru',
  'internet.ru',
  'rambler.ru',
  'ya.ru',
  'ukr.net',
  // Asia
  'qq.com',
  'foxmail.com',
  '163.com',
  '126.com',
  'yeah.net',
  'sina.com',
  'sina.cn',
  'sohu.com',
  'aliyun.com',
  '139.com',
  'naver.com',
  'hanmail.net',
  'daum.net',
  'nate.com',
  'rediffmail.com',
  'docomo.ne.jp',
  'ezweb.ne.jp',
  'softbank.ne.jp',
  // Americas, Oceania
  'comcast.net',
  'att.net',
  'sbcglobal.net',
  'bellsouth.net',
  'cox.net',
  'charter.net',
  'earthlink.net',
  'juno.com',
  'optonline.net',
  'shaw.ca',
  'rogers.com',
  'sympatico.ca',
  'uol.com.br',
  'bol.com.br',
  'terra.com.br',
  'bigpond.com',
  'bigpond.net.au',
  'optusnet.com.au',
  'xtra.co.nz',
  // Disposable
  'mailinator.com',
  'guerrillamail.com',
  '10minutemail.com',
  'temp-mail.org',
  'yopmail.com',
  'sharklasers.com',
  'trashmail.com',
]);

/**
 * Brands that run consumer mail under many country domains (`yahoo.co.uk`,
 * `hotmail.fr`, `gmx.at`, `yandex.com.tr`). Matched as `<brand>.<tld>` or
 * `<brand>.<second-level>.<tld>` with a country-style suffix.
 */
export const FREE_MAIL_BRANDS: ReadonlySet<string> = new Set([
  'yahoo',
  'hotmail',
  'outlook',
  'live',
  'windowslive',
  'aol',
  'gmx',
  'yandex',
  'gmail',
  'googlemail',
  'icloud',
  'zohomail',
  'protonmail',
  'libero',
  'tiscali',
]);

// `com`, `co.uk`, `com.br`, `ne.jp`, `at`: a generic or country suffix, never a company name.
const BRAND_SUFFIX = /^(?:(?:com|co|net|org|ne|or)\.)?[a-z]{2,3}$/;

/**
 * Whether `domain` is a free-mail (consumer mailbox) domain such as
 * `gmail.com`, `yahoo.co.uk` or `web.de`. Case and a trailing dot are ignored.
 * Company domains, and subdomains of company domains, return `false`.
 */
export function isFreeMailDomain(domain: string): boolean {
  if (typeof domain !== 'string') return false;
  const normalized = domain.trim().toLowerCase().replace(/\.$/, '');
  if (FREE_MAIL_DOMAINS.has(normalized)) return true;
  const dot = normalized.indexOf('.');
  if (dot <= 0) return false;
  return FREE_MAIL_BRANDS.has(normalized.slice(0, dot)) && BRAND_SUFFIX.test(normalized.slice(dot + 1));
}
