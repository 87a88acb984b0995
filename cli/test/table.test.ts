import { compareWithAnchors, summarizeRuns } from '../src/bench/summary';
import { percent, renderBenchTable, renderResultsTable, renderTunedTable } from '../src/table';
import { row, run } from './bench/fixtures';

describe('renderResultsTable', () => {
  it('shows group sizes in the header, percentages with one decimal, and "empty" for an empty group', () => {
    const text = renderResultsTable(
      [
        { label: 'cross-entropy', overall: 0.8114, groups: { many: 0.7781, medium: 0.889, few: null }, secondsPerEpoch: 0.456 },
        { label: 'GALA', overall: 0.8166, groups: { many: 0.776, medium: 0.9093, few: null }, secondsPerEpoch: 0.5 },
      ],
      { many: 7, medium: 3, few: 0 },
    );
    const lines = text.split('\n');
    expect(lines[1]).toMatch(/│ method\s+│ overall │ many \(7\) │ medium \(3\) │ few \(0\) │ s\/epoch │/);
    expect(text).toMatch(/│ cross-entropy │\s+81\.1 │\s+77\.8 │\s+88\.9 │\s+empty │\s+0\.46 │/);
    expect(text).toMatch(/│ GALA\s+│\s+81\.7 │\s+77\.6 │\s+90\.9 │\s+empty │\s+0\.50 │/);
  });

  it('formats 0 as 0.0, not as empty', () => {
    expect(percent(0)).toBe('0.0');
    expect(percent(null)).toBe('empty');
  });
});

describe('renderBenchTable and renderTunedTable', () => {
  const runs = [
    run(10, 'ce', 0, [row('ce', 0.811, 0.778, 0.889, null)]),
    run(10, 'ce', 1, [row('ce', 0.813, 0.776, 0.891, null)]),
    run(100, 'gala', 0, [row('gala', 0.7, 0.8, 0.6, 0.7)]),
  ];
  const summary = summarizeRuns(runs);

  it('prints the summary beside the reference, flags far rows, and separates imbalance factors', () => {
    const lines = renderBenchTable(compareWithAnchors(summary)).split('\n');
    expect(lines[1]).toMatch(/│\s+IF │ method │\s+overall │\s+many │\s+medium │\s+few │ runs │\s+reference │\s+Δ │ > 1\.5 │/);
    // ce at IF 10: reference 81.1 ± 0.3; gala at IF 100: reference 73.3 ± 1.8, 3.3 points away.
    expect(lines.find((l) => l.includes(' ce '))).toMatch(/│\s+10 │ ce\s+│ 81\.2 ± 0\.1 │ 77\.7 ± 0\.1 │ 89\.0 ± 0\.1 │\s+empty │\s+2 │ 81\.1 ± 0\.3 │ \+0\.1 │\s+│/);
    expect(lines.find((l) => l.includes(' gala '))).toMatch(/│ 100 │ gala\s+│\s+70\.0 │\s+80\.0 │\s+60\.0 │\s+70\.0 │\s+1 │ 73\.3 ± 1\.8 │ -3\.3 │ yes\s+│/);
    const ce = lines.findIndex((l) => l.includes(' ce '));
    expect(lines[ce + 1]).toMatch(/^│\s+│$/); // the blank row between IF 10 and IF 100
  });

  it('leaves the reference columns out when asked', () => {
    expect(renderBenchTable(compareWithAnchors(summary), { reference: false })).not.toContain('reference');
  });

  it('prints the tuned rows with the fixed overall of the same row, "–" when the fixed table lacks it', () => {
    const fixed = summarizeRuns([run(10, 'ce', 0, [row('ce', 0.79, 0.7, 0.9, null)])]);
    const lines = renderTunedTable(summary, fixed).split('\n');
    expect(lines[1]).toMatch(/│ runs │\s+fixed │$/);
    expect(lines.find((l) => l.includes(' ce '))).toMatch(/│\s+2 │\s+79\.0 │$/);
    expect(lines.find((l) => l.includes(' gala '))).toMatch(/│\s+1 │\s+– │$/);
  });
});
