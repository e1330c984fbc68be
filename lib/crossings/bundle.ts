import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Construct } from 'constructs';
import { AssetHashType, DockerImage, FileSystem, Stack, aws_ec2 as ec2, aws_iam as iam, aws_s3_assets as assets, custom_resources as cr } from 'aws-cdk-lib';
import { acknowledge, controlTower } from '../compliance/acknowledge';

const ROOT = path.resolve(__dirname, '..', '..');

/**
 * A service of this project bundled into one JavaScript file for the hosts
 * (esbuild, at synth, offline), as a CDK asset the hosts fetch through their
 * S3 endpoint. The hash covers the sources, the entry point and the locked
 * dependencies, so two services built from the same sources stay apart.
 */
export function bundledService(scope: Construct, id: string, entry: string, outName: string, extraSources: string[] = []): assets.Asset {
  const source = path.join(ROOT, 'lib', 'sanitizer');
  const h = createHash('sha256').update(FileSystem.fingerprint(source)).update(FileSystem.fingerprint(path.join(ROOT, 'lib', 'mail'))).update(FileSystem.fingerprint(path.join(ROOT, entry))).update(FileSystem.fingerprint(path.join(ROOT, 'package-lock.json'))).update(outName);
  // Services whose code lives elsewhere too (e.g. lib/screen, lib/updates, config/updates.ts) name those sources, so the bundle changes with them.
  for (const extra of extraSources) h.update(FileSystem.fingerprint(path.join(ROOT, extra)));
  const hash = h.digest('hex');
  return new assets.Asset(scope, id, {
    path: source,
    assetHashType: AssetHashType.CUSTOM,
    assetHash: hash,
    bundling: {
      image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:20-slim'),
      local: {
        tryBundle(outputDir: string): boolean {
          // Bundles are cached by their source hash outside cdk.out, so every later synth (tests, benchmarks) copies instead of rebuilding.
          const cache = path.join(ROOT, 'node_modules', '.cache', 'three-tier-bundles', hash);
          if (!fs.existsSync(path.join(cache, outName))) {
            const tmp = `${cache}.${process.pid}.tmp`;
            fs.rmSync(tmp, { recursive: true, force: true });
            buildServiceBundle(entry, path.join(tmp, outName));
            fs.mkdirSync(path.dirname(cache), { recursive: true });
            try {
              fs.renameSync(tmp, cache);
            } catch {
              // Another process cached the same bundle first.
              fs.rmSync(tmp, { recursive: true, force: true });
            }
          }
          fs.cpSync(cache, outputDir, { recursive: true });
          return true;
        },
      },
    },
  });
}

/** Bundles a service entry point (e.g. `bin/mail.ts`) into one JavaScript file, as the hosts run it. */
export function buildServiceBundle(entry: string, outfile: string): void {
  // esbuild's synchronous API runs its service in a worker thread and blocks on Atomics.wait until it
  // answers; in a jest worker that loads esbuild once per test file, that wait once never returned (the
  // whole run hung, both workers idle). With ESBUILD_WORKER_THREADS=0 (read when esbuild loads) each call
  // runs the esbuild binary as a child process instead: no shared state, the same output.
  process.env.ESBUILD_WORKER_THREADS ??= '0';
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof import('esbuild');
  esbuild.buildSync({ entryPoints: [path.join(ROOT, entry)], bundle: true, platform: 'node', target: 'node18', format: 'cjs', minify: true, legalComments: 'external', outfile, logLevel: 'silent' });
}

/**
 * The S3 prefix list of the region, looked up at deploy time (its id differs
 * per region and synth stays offline): hosts in isolated zones reach S3 only
 * through the gateway endpoint, i.e. these addresses.
 */
export function s3PrefixListPeer(scope: Construct, id: string, region: string): ec2.IPeer {
  const lookup = new cr.AwsCustomResource(scope, id, {
    onUpdate: {
      service: 'EC2',
      action: 'describeManagedPrefixLists',
      parameters: { Filters: [{ Name: 'prefix-list-name', Values: [`com.amazonaws.${region}.s3`] }] },
      physicalResourceId: cr.PhysicalResourceId.of(`s3-prefix-list-${region}`),
      outputPaths: ['PrefixLists.0.PrefixListId'],
    },
    policy: cr.AwsCustomResourcePolicy.fromStatements([new iam.PolicyStatement({ actions: ['ec2:DescribeManagedPrefixLists'], resources: ['*'] })]),
    installLatestAwsSdk: false,
  });
  acknowledge(lookup.node.findChild('CustomResourcePolicy').node.defaultChild!, 'AwsSolutions-IAM5[Resource::*]', 'ec2:DescribeManagedPrefixLists has no resource-level permissions; it only reads the AWS-managed S3 prefix list id at deploy time.');
  const provider = Stack.of(scope).node.tryFindChild('AWS679f53fac002430cb0da5b7982bd2287');
  if (provider) {
    acknowledge(provider.node.defaultChild!, controlTower('lambda_inside_vpc_check'), 'A deploy-time lookup (the S3 prefix list id) by the CDK AwsCustomResource; it calls one EC2 API and holds no data, and the isolated zone has no route to the EC2 API.');
    acknowledge(provider.node.findChild('ServiceRole').node.defaultChild!, 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'CDK-provided deploy-time handler: it only needs to write its own logs.');
  }
  return ec2.Peer.prefixList(lookup.getResponseField('PrefixLists.0.PrefixListId'));
}

/**
 * Host commands that install a bundled service: Node.js from the Amazon Linux
 * repositories (through the S3 gateway endpoint), the bundle into
 * /opt/<name>, and a system user of the same name.
 */
export function installServiceCommands(bundle: assets.Asset, name: string, region: string, extraPackages: string[] = []): string[] {
  return [
    'set -euo pipefail',
    `dnf install -y nodejs ${extraPackages.join(' ')}`.trim(),
    `install -d -m 0755 /opt/${name}`,
    `aws s3 cp ${bundle.s3ObjectUrl} /tmp/${name}.zip --region ${region}`,
    `python3 -c "import zipfile; zipfile.ZipFile('/tmp/${name}.zip').extractall('/opt/${name}')"`,
    `useradd --system --no-create-home --shell /sbin/nologin ${name} || true`,
  ];
}

/** A hardened systemd unit for a bundled service, written, enabled and started. */
export function systemdServiceCommands(name: string, description: string, script: string, extra: string[] = []): string[] {
  return [
    [
      `cat > /etc/systemd/system/${name}.service <<'UNIT'`,
      '[Unit]',
      `Description=${description}`,
      'After=network-online.target',
      'Wants=network-online.target',
      '[Service]',
      `User=${name}`,
      `EnvironmentFile=/etc/${name}.env`,
      `ExecStart=/usr/bin/node /opt/${name}/${script}`,
      'Restart=always',
      'RestartSec=2',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      ...extra,
      '[Install]',
      'WantedBy=multi-user.target',
      'UNIT',
    ].join('\n'),
    'systemctl daemon-reload',
    `systemctl enable --now ${name}`,
  ];
}
