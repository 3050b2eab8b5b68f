/**
 * The test modules of the real-suite part: 50 of CPython 3.11's own regression-test modules (Debian's
 * libpython3.11-testsuite), in alphabetical order as regrtest runs them; `--suite-modules N` takes the first N.
 *
 * How they were chosen (on this 2-core machine, November 2026): every test_* module in /usr/lib/python3.11/test
 * was run once on the host with the bench's command (`python3.11 -S -B -m test -q <module>`, clean environment)
 * and once in a chroot of the image's root filesystem with no network (new net, pid and mount namespaces);
 * kept were those that passed in both, ran at least part of their tests (not skipped whole for a missing
 * resource), and took about 0.2 to 3 s. The 50 below then each passed in a fresh `docker run --rm --network none`
 * container of warmpool/pysuite:3.11 as well. Left out although they passed: modules whose tests are about time
 * or signals (test_time, test_sched, test_select, test_file_eintr), about the machine or its locales
 * (test_platform, test_syslog, test_utf8_mode, test_c_locale_coercion), and long ones dropped so the part
 * (six suite runs) stays within about three minutes: test_statistics, test_datetime, test_pydoc,
 * test_interpreters (2-2.5 s each). Failing in the image for want of host tools or Debian packages it does not
 * hold: test_ctypes (find_library needs ldconfig or gcc), test_distutils and test_sundry (python3-distutils),
 * test_lib2to3, test_sysconfig. The sum of their run times one at a time was about 48 s in the chroot and 56 s
 * on the host (the host measured while other benches ran). A mix of what a real suite holds: pure computation
 * (test_decimal, test_long, test_math), the compiler (test_ast, test_compile), many Python subprocesses
 * (test_cmd_line, test_cmd_line_script, test_import), local servers on loopback (test_httpservers,
 * test_urllib2_localnet, test_smtplib), files (test_shutil, test_tempfile, test_pathlib, test_os).
 */
export const realSuiteModules: readonly string[] = [
  'test___all__',
  'test_argparse',
  'test_ast',
  'test_asyncgen',
  'test_audit',
  'test_buffer',
  'test_bytes',
  'test_bz2',
  'test_calendar',
  'test_cmd_line',
  'test_cmd_line_script',
  'test_codecs',
  'test_compile',
  'test_decimal',
  'test_deque',
  'test_exceptions',
  'test_fstring',
  'test_gc',
  'test_hashlib',
  'test_heapq',
  'test_httpservers',
  'test_import',
  'test_inspect',
  'test_itertools',
  'test_json',
  'test_long',
  'test_math',
  'test_os',
  'test_pathlib',
  'test_pdb',
  'test_pickletools',
  'test_posix',
  'test_random',
  'test_set',
  'test_shutil',
  'test_smtplib',
  'test_sys',
  'test_sys_settrace',
  'test_tempfile',
  'test_thread',
  'test_tokenize',
  'test_trace',
  'test_traceback',
  'test_tracemalloc',
  'test_tuple',
  'test_unicode',
  'test_unicodedata',
  'test_unittest',
  'test_urllib2_localnet',
  'test_zlib',
];
