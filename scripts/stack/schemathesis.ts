import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ProvisioningError, which } from './temporal';
import { versions } from './versions';

/**
 * Installs the pinned schemathesis (with the pinned hypothesis and jsonschema-rs, so a fixed seed draws the same
 * requests everywhere) from PyPI into the project's venv `<stackDir>/venv`, once. Returns the `schemathesis` CLI.
 */
export function ensureSchemathesis(stackDir: string): string {
  const venv = path.join(stackDir, 'venv');
  const cli = path.join(venv, 'bin', 'schemathesis');
  const pins = Object.entries(versions.schemathesis).map(([name, version]) => `${name}==${version}`);
  const marker = path.join(venv, `.installed-${pins.join('-')}`);
  if (existsSync(marker) && existsSync(cli)) return cli;
  const python = which('python3') ?? which('python');
  if (!python) throw new ProvisioningError('schemathesis', 'python3 is not on PATH (needed to install it from PyPI)');
  mkdirSync(stackDir, { recursive: true });
  console.log(`[stack] installing ${pins.join(', ')} into ${venv}`);
  try {
    if (!existsSync(path.join(venv, 'bin', 'pip'))) execFileSync(python, ['-m', 'venv', venv], { stdio: 'inherit' });
    execFileSync(path.join(venv, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', ...pins], {
      stdio: 'inherit',
    });
  } catch (err) {
    throw new ProvisioningError('schemathesis', `pip install failed: ${(err as Error).message}`);
  }
  writeFileSync(marker, new Date().toISOString());
  return cli;
}
