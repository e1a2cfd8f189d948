// Every example, synthesized by `npx cdk8s synth` into cdk8s.out/.
import { App } from 'cdk8s';
import { EXAMPLES } from './index';

const app = new App();
for (const build of Object.values(EXAMPLES)) build(app);
app.synth();
