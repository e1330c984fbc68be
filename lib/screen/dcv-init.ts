/** The init script of a DCV virtual session: the browser is the only program of the session (no dependencies: the CDK app imports it). */
export function dcvInitScript(browser: string): string {
  return ['#!/bin/sh', '# Three-tier virtual browser: the only program of the session.', 'mkdir -p "$HOME/Downloads"', `exec ${browser}`].join('\n');
}
