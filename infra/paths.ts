import { fileURLToPath } from 'node:url';

/** The project root, resolved from this module, never from the working directory. */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const fromRoot = (...parts: string[]): string => [PROJECT_ROOT.replace(/\/$/, ''), ...parts].join('/');
