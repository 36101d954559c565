import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigurationError } from '@leadpipe/core/adapter-kit';

/** Name of the lock file inside a PGlite data folder. */
const LOCK_FILE = 'leadpipe.lock';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Take the data folder for this process: PGlite itself lets two processes
 * open one folder and corrupt it. The lock is a file created exclusively
 * (`wx`) holding the owner's pid; a lock whose process is gone (a crash) is
 * taken over. Resolves with the release function.
 *
 * @throws ConfigurationError naming `connection` when a live process holds the folder.
 */
export function lockDataFolder(folder: string): () => void {
  mkdirSync(folder, { recursive: true });
  const path = join(folder, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx' });
      let released = false;
      return () => {
        if (released) return;
        released = true;
        rmSync(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number.parseInt(readFileSync(path, 'utf8'), 10);
      if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
        throw new ConfigurationError('invalid_configuration', {
          issues: [
            {
              field: 'connection',
              reason: `the PGlite data folder is in use by process ${owner}; one process at a time may open it`,
            },
          ],
        });
      }
      // A lock left by a process that is gone: take it over.
      rmSync(path, { force: true });
    }
  }
  throw new ConfigurationError('invalid_configuration', {
    issues: [{ field: 'connection', reason: 'could not lock the PGlite data folder' }],
  });
}
