import { anchorComparisonMarkdown, displayName, formatDifference, formatStatistic, summaryMarkdown } from '../../src/bench/markdown';
import { compareWithAnchors, summarizeRuns } from '../../src/bench/summary';
import { row, run } from './fixtures';

describe('markdown tables', () => {
  const runs = [
    run(10, 'ce', 0, [row('ce', 0.811, 0.778, 0.889, null), row('ce+pr', 0.815, 0.783, 0.89, null)]),
    run(10, 'ce', 1, [row('ce', 0.813, 0.776, 0.891, null), row('ce+pr', 0.817, 0.785, 0.892, null)]),
    run(10, 'cw', 0, [row('cw', 0.8, 0.7, 0.9, null)]),
  ];

  it('writes the summary in the layout of the reference tables, with "empty" for an empty group', () => {
    expect(summaryMarkdown(summarizeRuns(runs))).toBe(
      [
        '| IF | method | overall | many | medium | few | runs |',
        '|---:|---|---:|---:|---:|---:|---:|',
        '| 10 | ce | 81.2 ± 0.1 | 77.7 ± 0.1 | 89.0 ± 0.1 | empty | 2 |',
        '| 10 | ce +PR | 81.6 ± 0.1 | 78.4 ± 0.1 | 89.1 ± 0.1 | empty | 2 |',
        '| 10 | cw | 80.0 | 70.0 | 90.0 | empty | 1 |',
        '',
      ].join('\n'),
    );
  });

  it('puts the reference numbers beside ours with signed differences, and says which rows have none', () => {
    const table = anchorComparisonMarkdown(compareWithAnchors(summarizeRuns(runs)));
    const lines = table.trim().split('\n');
    expect(lines[0]).toBe('| IF | method | overall (ours) | overall (reference) | Δ overall | Δ many | Δ medium | Δ few | > 1.5 points |');
    // ce at IF 10: anchor 81.1 ± 0.3, many 77.8, medium 88.9, few empty.
    expect(lines[2]).toBe('| 10 | ce | 81.2 ± 0.1 | 81.1 ± 0.3 | +0.1 | -0.1 | +0.1 | – |  |');
    expect(lines[4]).toBe('| 10 | cw | 80.0 | – | – | – | – | – | no reference |');
  });

  it('flags rows away from the reference numbers', () => {
    const table = anchorComparisonMarkdown(compareWithAnchors(summarizeRuns([run(100, 'gala', 0, [row('gala', 0.7, 0.8, 0.6, 0.7)])])));
    // gala at IF 100: anchor 73.3.
    expect(table).toContain('| 100 | gala | 70.0 | 73.3 ± 1.8 | -3.3 |');
    expect(table.trim().split('\n')[2].endsWith('| **yes** |')).toBe(true);
  });

  it('formats names, statistics and differences', () => {
    expect(displayName('gala+pr')).toBe('gala +PR');
    expect(displayName('ce+la')).toBe('ce +LA');
    expect(displayName('ldamdrw')).toBe('ldamdrw');
    expect(formatStatistic(null)).toBe('empty');
    expect(formatStatistic({ mean: 0.7449, std: 0.0123, n: 3 })).toBe('74.5 ± 1.2');
    expect(formatDifference(-0.04)).toBe('+0.0');
    expect(formatDifference(1.26)).toBe('+1.3');
    expect(formatDifference(-2.5)).toBe('-2.5');
    expect(formatDifference(null)).toBe('–');
  });
});
