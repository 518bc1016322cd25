// The seed's three generate_cams modes.
export interface ModeSpec {
  name: 'baseline' | 'finer-default' | 'finer-compare';
  label: string;
  alpha: number;
  referenceCategoryRanks: number[];
}

export const MODES: readonly ModeSpec[] = [
  { name: 'baseline', label: 'Baseline', alpha: 0, referenceCategoryRanks: [1, 2, 3] },
  { name: 'finer-default', label: 'Finer-Default', alpha: 1, referenceCategoryRanks: [1, 2, 3] },
  { name: 'finer-compare', label: 'Finer-Compare', alpha: 1, referenceCategoryRanks: [1] },
];

export function pickModes(names: readonly string[] | undefined, command: string, UsageErrorCls: new (m: string) => Error): ModeSpec[] {
  if (!names) return [...MODES];
  return names.map((n) => {
    const m = MODES.find((x) => x.name === n);
    if (!m) throw new UsageErrorCls(`${command}: unknown mode '${n}' in --modes (use ${MODES.map((x) => x.name).join(', ')})`);
    return m;
  });
}
