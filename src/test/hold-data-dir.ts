// Test helper run as a child process: takes the embedded data-dir lock on argv[2], says so on
// stdout, and holds it until killed (SIGKILL leaves the lock file behind, like a crash).
import { lockDataDir } from '../db/data-dir-lock.ts';

const dir = process.argv[2];
if (!dir) throw new Error('usage: hold-data-dir.ts <dir>');
lockDataDir(dir);
process.stdout.write('locked\n');
setInterval(() => {}, 60_000);
