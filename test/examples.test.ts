import { App, Testing } from 'cdk8s';
import { EXAMPLES } from '../examples';
import { expectValid } from './util/schema';

describe('examples', () => {
  for (const [name, build] of Object.entries(EXAMPLES)) {
    test(`${name} synthesizes valid manifests`, () => {
      const app = Testing.app();
      const chart = build(app as App);
      const docs = Testing.synth(chart);
      expect(docs.length).toBeGreaterThan(0);
      expectValid(docs);
      expect(docs).toMatchSnapshot();
    });
  }
});
