import test from 'ava';
import { figure, findValue, latencyFigures, type PartResult } from '../../harness/bench/figures.js';
import { formatJson, formatTable, formatValue, reportSchema, type BenchReport } from '../../harness/bench/report.js';

function sampleReport(parts: PartResult[]): BenchReport {
  return {
    schema: reportSchema,
    command: 'warmpool bench --backend docker --quick',
    startedAt: '2030-01-01T00:00:00.000Z',
    finishedAt: '2030-01-01T00:01:00.000Z',
    machine: {
      cpuModel: 'Test CPU @ 2.0GHz',
      cores: 2,
      memoryBytes: 4 * 1024 ** 3,
      node: 'v20.0.0',
      kernel: '6.1.0-test',
      kernelVersion: '#1 SMP',
      engine: { backend: 'docker', version: 'Docker 20.10.24 (API 1.41)' },
    },
    load: { loadAverageAtStart: [1.5, 1, 0.5], loadAverageAtEnd: [2, 1.25, 0.75], cpuBusyPercent: 42.4, freeMemoryBytesAtStart: 1024 },
    settings: {
      backend: 'docker',
      size: 8,
      workers: 5,
      samples: 10,
      jobs: 12,
      rounds: 1,
      idleMs: 3000,
      scaleSizes: [100],
      scaleGets: 1000,
      suiteModules: 12,
      suiteConcurrency: [2],
      quick: true,
      skipped: ['service'],
    },
    parts,
  };
}

const ceiling: PartResult = {
  id: 'ceiling',
  title: '1 engine ceiling',
  figures: [figure('ceiling.createPerSecond', 'create+start+ready, 5 at once', 8.912, 'containers/s'), figure('ceiling.createMs.p50', 'one creation p50', 512.3, 'ms')],
  notes: ['8 containers, 5 at a time.'],
};
const skipped: PartResult = { id: 'service', title: '3b checkout, service', figures: [], notes: ['never shown'], skipped: 'left out with --skip' };

test('formatValue keeps as many digits as the magnitude deserves', (t) => {
  t.is(formatValue(12_345.6), '12,346');
  t.is(formatValue(512.3), '512');
  t.is(formatValue(42.25), '42.3');
  t.is(formatValue(8.912), '8.91');
  t.is(formatValue(0.0123), '0.01');
  t.is(formatValue(0.000_042_1), '0.000042');
  t.is(formatValue(0), '0.00');
  t.is(formatValue(null), '-');
  t.is(formatValue(3, 'count'), '3', 'a count has no decimals');
  t.is(formatValue(1234, 'count'), '1,234');
});

test('the table has the machine, the load, and one aligned row per figure with its unit', (t) => {
  const table = formatTable(sampleReport([ceiling, skipped]));
  const lines = table.split('\n');
  t.regex(lines[0] ?? '', /docker, pool of 8, 5 workers, 10 samples, 12 jobs \(quick\)/);
  t.regex(lines[1] ?? '', /Test CPU @ 2\.0GHz, 2 cores, 4\.0 GiB; node v20\.0\.0; kernel 6\.1\.0-test; Docker 20\.10\.24/);
  t.regex(lines[2] ?? '', /load average 1\.50 1\.00 0\.50 at start, 2\.00 1\.25 0\.75 at end; all cores 42% busy/);
  const header = lines.find((line) => line.startsWith('part'));
  const rate = lines.find((line) => line.includes('create+start+ready'));
  const latency = lines.find((line) => line.includes('one creation p50'));
  t.truthy(header);
  t.regex(rate ?? '', /^1 engine ceiling\s+create\+start\+ready, 5 at once\s+8\.91\s+containers\/s$/);
  t.regex(latency ?? '', /^\s+one creation p50\s+512\s+ms$/, 'the part title is printed once, on its first row');
  const endOf = (line: string | undefined, value: string): number => (line ?? '').indexOf(value) + value.length;
  t.is(endOf(rate, '8.91'), endOf(latency, '512'), 'values are right-aligned in one column');
  t.true(lines.some((line) => /^3b checkout, service\s+skipped: left out with --skip$/.test(line)));
  t.true(table.includes('- 1 engine ceiling: 8 containers, 5 at a time.'));
  t.false(table.includes('never shown'), 'a skipped part has no notes');
});

test('the JSON holds every figure with its unit, the machine and the settings', (t) => {
  const report = sampleReport([ceiling, skipped]);
  const parsed = JSON.parse(formatJson(report)) as BenchReport;
  t.deepEqual(parsed, report);
  t.is(parsed.schema, 'warmpool-bench/1');
  t.deepEqual(parsed.parts[0]?.figures[0], { key: 'ceiling.createPerSecond', label: 'create+start+ready, 5 at once', value: 8.912, unit: 'containers/s' });
  t.is(parsed.machine.engine.version, 'Docker 20.10.24 (API 1.41)');
});

test('latencyFigures gives p50, p99, p99.9 and max keyed under one prefix', (t) => {
  const figures = latencyFigures('checkout.inProcess', 'get()', { count: 3, min: 1, p50: 2, p99: 2.98, p999: 2.998, max: 3, mean: 2 });
  t.deepEqual(
    figures.map((entry) => [entry.key, entry.label, entry.value, entry.unit]),
    [
      ['checkout.inProcess.p50', 'get() p50', 2, 'ms'],
      ['checkout.inProcess.p99', 'get() p99', 2.98, 'ms'],
      ['checkout.inProcess.p999', 'get() p99.9', 2.998, 'ms'],
      ['checkout.inProcess.max', 'get() max', 3, 'ms'],
    ],
  );
});

test('a figure that is not a finite number is recorded as null, and findValue skips it', (t) => {
  t.is(figure('a.b', 'a b', Number.NaN, 'x').value, null);
  t.is(figure('a.b', 'a b', Infinity, 'x').value, null);
  const parts: PartResult[] = [{ ...ceiling, figures: [...ceiling.figures, figure('ceiling.none', 'none', null, 'x')] }];
  t.is(findValue(parts, 'ceiling.createPerSecond'), 8.912);
  t.is(findValue(parts, 'ceiling.none'), undefined);
  t.is(findValue(parts, 'missing'), undefined);
});
