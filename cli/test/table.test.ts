import { percent, renderResultsTable } from '../src/table';

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
