// `retryctl`: the operator CLI (bin/retryctl.js runs this file through tsx).
import { runCli } from './commands';

runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
