// The floor: a CDK app with one empty stack (the CLI refuses an app with no
// stack), synthesized through the same CLI path as the real app.
import { App, Stack } from 'aws-cdk-lib';
const app = new App();
new Stack(app, 'Empty');
app.synth();
if (process.env.THREE_TIER_STATS_FILE) require('fs').writeFileSync(process.env.THREE_TIER_STATS_FILE, JSON.stringify({ maxRssKb: process.resourceUsage().maxRSS, rulebookSeconds: {} }));
