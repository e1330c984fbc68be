import { Zone } from '../../config/schema';

/** PascalCase for stack names: "pilot" → "Pilot", "synthetic-50" → "Synthetic50". */
export function pascal(text: string): string {
  return text
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join('');
}

/** `<Config>-<Municipality>-<Zone>` (DESIGN section 6). */
export function zoneStackName(configName: string, code: string, zone: Zone): string {
  return `${pascal(configName)}-${code}-${pascal(zone)}`;
}

/** `<Config>-SecurityCloud-<Name>` (DESIGN section 6). */
export function securityCloudStackName(configName: string, name: string): string {
  return `${pascal(configName)}-SecurityCloud-${name}`;
}

/** Deterministic so that stacks in other accounts or regions can name it without cross-stack references. */
export function logArchiveBucketName(configName: string, account: string, region: string): string {
  return `${configName}-log-archive-${account}-${region}`;
}

/** The server-access-log bucket of the project's buckets (deterministic for the same reason). */
export function accessLogsBucketName(configName: string, account: string, region: string): string {
  return `${configName}-access-logs-${account}-${region}`;
}

/** A municipality's distribution bucket for application updates that passed the sanitizer (X6). */
export function updatesBucketName(configName: string, code: string, account: string, region: string): string {
  return `${configName}-${code}-updates-${account}-${region}`;
}

/**
 * β / β′: the stack of the internet-side endpoints of crossing B1, next to the municipality's internet
 * zone stack (`<Config>-<Code>-InternetScreen`; lib/crossings/beta.ts says why it is a stack of its own).
 */
export function internetScreenStackName(internetZoneStack: string): string {
  return `${internetZoneStack}Screen`;
}
