import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { Pipeline, TrainingStorage, VolumeSource } from '../src';
import { _kept, keepTogether } from '../src/_placement';
import { nsChart } from './util/platform';

const IMAGE = 'registry.example.com/korean-llm-trainer:1.0.0';

function storageIn(scope: Construct): TrainingStorage {
  return new TrainingStorage(scope, 'storage', {
    source: VolumeSource.nfs('nfs.example.com', '/data'),
    output: { source: VolumeSource.nfs('nfs.example.com', '/output') },
  });
}

describe('construct placement', () => {
  test('a construct lists its scopes, itself and its subtree, each with its node, in creation order', async () => {
    await Promise.resolve(); // whatever earlier tests listed is released
    expect(_kept()).toEqual([]);
    const chart = nsChart();
    const storage = storageIn(chart);
    const kept = _kept();
    const subtree = storage.node.findAll();
    expect(subtree.length).toBe(5); // the storage, two volumes and two claims
    expect(subtree.slice(1).every((c) => c instanceof ApiObject)).toBe(true);
    const app = chart.node.scope!;
    expect(kept).toEqual([app, chart, ...subtree].flatMap((c) => [c, c.node]));
  });

  test('nothing stays listed once the synchronous work is over', async () => {
    const chart = nsChart();
    const storage = storageIn(chart);
    const pipeline = new Pipeline(chart, 'pipeline', { name: 'train', image: IMAGE, storage });
    const kept = _kept();
    for (const c of [storage, pipeline, ...pipeline.node.children]) expect(kept).toContain(c);
    expect(kept).toContain(pipeline.node);
    await Promise.resolve();
    expect(_kept()).toEqual([]);
  });

  test('a ring: past 32,768 constructs the oldest give way, the newest stay in order', async () => {
    await Promise.resolve();
    const root = new Construct(undefined as any, '');
    const children = Array.from({ length: 33_000 }, (_, i) => new Construct(root, `c${i}`));
    keepTogether(root);
    const kept = _kept();
    expect(kept.length).toBe(65_536);
    const all = [root, ...children];
    const newest = all.slice(all.length - 32_768);
    expect(kept[0]).toBe(newest[0]);
    expect(kept[1]).toBe(newest[0].node);
    expect(kept[kept.length - 2]).toBe(children[children.length - 1]);
    expect(kept).not.toContain(root); // listed first (it is the scope of every child), so overwritten
    await Promise.resolve();
    expect(_kept()).toEqual([]);
  });

  test('constructs that are not the library\'s are listed only as scopes of the library\'s', async () => {
    await Promise.resolve();
    const chart = nsChart();
    const scope = new Construct(chart, 'platform');
    const sibling = new Construct(chart, 'other');
    storageIn(scope);
    expect(_kept()).toContain(scope);
    expect(_kept()).toContain(chart);
    expect(_kept()).not.toContain(sibling);
  });
});
