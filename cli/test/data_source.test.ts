import * as os from 'node:os';
import * as path from 'node:path';

import { describeDataSource, resolveDataSource } from '../src/data_source';

describe('resolveDataSource', () => {
  const committedSubsetDir = path.join(__dirname, '..', 'data', 'fashion-mnist-lt');

  it('uses --data when given, resolved to an absolute path', () => {
    const source = resolveDataSource('some/dir', { committedSubsetDir, fullDatasetDir: os.tmpdir() });
    expect(source).toEqual({ dir: path.resolve('some/dir'), description: path.resolve('some/dir'), kind: 'option' });
  });

  it('prefers the full dataset when it is installed', () => {
    const source = resolveDataSource(undefined, { committedSubsetDir, fullDatasetDir: os.tmpdir() });
    expect(source.kind).toBe('debian');
    expect(source.dir).toBe(os.tmpdir());
    expect(source.description).toContain('full Fashion-MNIST');
  });

  it('falls back to the committed subset and says so', () => {
    const source = resolveDataSource(undefined, { committedSubsetDir, fullDatasetDir: '/nonexistent/fashion-mnist' });
    expect(source.kind).toBe('committed-subset');
    expect(source.dir).toBe(path.resolve(committedSubsetDir));
    expect(source.description).toMatch(/^committed subset .*fashion-mnist-lt \(stored at imbalance factor 10, nMax 500/);
  });

  it('recognises the committed subset passed as --data', () => {
    expect(resolveDataSource(committedSubsetDir, { committedSubsetDir }).kind).toBe('committed-subset');
  });
});

describe('describeDataSource', () => {
  const committedSubsetDir = path.join(__dirname, '..', 'data', 'fashion-mnist-lt');

  it('names the reference data set once: after a --data path, not again after a description that has it', () => {
    const option = resolveDataSource('my-data', { committedSubsetDir, fullDatasetDir: os.tmpdir() });
    expect(describeDataSource(option, 'full Fashion-MNIST')).toBe(`${path.resolve('my-data')} (full Fashion-MNIST)`);
    expect(describeDataSource(option, null)).toBe(path.resolve('my-data'));
    const debian = resolveDataSource(undefined, { committedSubsetDir, fullDatasetDir: os.tmpdir() });
    expect(describeDataSource(debian, 'full Fashion-MNIST')).toBe(`${os.tmpdir()} (full Fashion-MNIST)`);
  });
});
