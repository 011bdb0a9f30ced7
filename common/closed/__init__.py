"""The closed division: participants' algorithms as container images, run sandboxed on the round's data.

A participant builds an image FROM a cube's image with their algorithm class installed and named in the image
label `org.dataperf.algorithm` ("package.module:ClassName").  For each image, `dataperf closed CUBE --image IMG`:

  views.py          assembles, from an explicit per-cube list, a fresh read-only folder of what a participant may
                    see, and writes the parameters file the container reads (never the round's data seed);
  docker_runner.py  runs the cube's own `create_baselines` task in the image, sandboxed by the limits of
                    limits.py and the system calls of seccomp.py, its output on a size- and inode-limited tmpfs
                    volume, its lifetime bounded by a clock container the kernel enforces;
  leftovers.py      who owns what a round creates (labels, owner files), the neutral folder of the views, and
                    the sweep of what a killed runner left;
  interrupts.py     SIGINT, SIGTERM and SIGHUP: one clean stop;
  ../untrusted/container_output.py  copies that output out as a tar stream, regular files only, with limits;
  outcomes.py       names what went wrong (timeout, out of memory, exit code, output too large, invalid output);
  round.py          drives the round: every image alone, scored by the trusted local evaluator (the cube's own
                    evaluate task, with the open division's validation), each outcome in results.json;
  seeds.py          the generator's own round seed (data.seed), so hidden data cannot be regenerated.
"""
