#!/usr/bin/python3
"""Keeps the Dockerfile from rotting without a Docker engine (CI has none).

  check_dockerfile.py --lint-only            lint the Dockerfile and .dockerignore (a second)
  check_dockerfile.py --work DIR             lint, then run the stages' commands (minutes, ccache)

Lint (no hadolint in Debian 12): every FROM has an explicit tag other than `latest`, all stages use
the same Debian release, no ADD, apt-get runs `update` and `install -y --no-install-recommends`
in one RUN that also removes /var/lib/apt/lists, no sudo/curl/wget, the final USER is a numeric
non-root UID:GID, ENTRYPOINT/CMD are in exec form, port 53 is exposed over UDP and TCP, the final
stage sets cap_net_bind_service, COPY --from names an earlier stage, .dockerignore keeps .git and
build folders out of the context.

Run, in DIR (reused between runs, so ninja and ccache keep their work):
  build stage:   apt-get RUNs are not run: every package they name must be installed here;
                 COPY copies the context (minus .dockerignore) into DIR/<stage>/, every other RUN
                 runs there with /bin/sh as Docker would (WORKDIR = that folder).
  runtime stage: apt-get RUNs: every package must exist in the apt lists; the shared libraries
                 the binary needs (ldd) must come from the packages installed (or their
                 dependencies, or the base image's), the ones it links directly (NEEDED) from a
                 package the stage names or from the base image. As root, the other RUNs run
                 unchanged in a private mount namespace where /usr/local is DIR/rootfs/usr/local
                 (filled by the stage's COPY --from) and /etc a copy of this machine's; then the
                 binary, as the stage's USER with only NET_BIND_SERVICE in its bounding set and
                 no_new_privs (as Kubernetes runs it), must answer DNS on 127.0.0.1:53 in a private
                 network namespace, and the binary without the file capability must not bind it.
Exit status 0 when everything holds; each problem is printed as `Dockerfile:LINE: message`.
"""
import argparse
import fnmatch
import json
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[2]


class Instruction:
    def __init__(self, line, keyword, args):
        self.line = line        # 1-based line of the instruction's first line
        self.keyword = keyword  # upper case: FROM, RUN, COPY, ...
        self.args = args        # the rest, continuation lines joined with spaces


class Stage:
    def __init__(self, index, image, name, line):
        self.index = index
        self.image = image
        self.name = name
        self.line = line
        self.instructions = []


def parse(text):
    """Instructions of a Dockerfile (comments dropped, `\\` continuations joined) by stage."""
    stages = []
    pending, start = None, 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if pending is None and (not stripped or stripped.startswith("#")):
            continue
        if pending is not None and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if pending is None:
            pending, start = "", number
        if stripped.endswith("\\"):
            pending += stripped[:-1].strip() + " "
            continue
        pending += stripped
        keyword, _, args = pending.partition(" ")
        ins = Instruction(start, keyword.upper(), args.strip())
        pending = None
        if ins.keyword == "FROM":
            words = ins.args.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(len(stages), words[0] if words else "", name, ins.line))
        elif stages:
            stages[-1].instructions.append(ins)
        else:
            stages.append(Stage(0, "", None, ins.line))  # instruction before FROM: lint reports
            stages[-1].instructions.append(ins)
    return stages


def apt_packages(command):
    """Package names an `apt-get install` in a RUN command names (options dropped)."""
    packages = []
    for part in re.split(r"&&|;|\|\|", command):
        words = shlex.split(part)
        if len(words) >= 2 and words[0] == "apt-get" and "install" in words:
            after = words[words.index("install") + 1:]
            packages += [w for w in after if not w.startswith("-")]
    return packages


def copy_args(ins):
    """(from_stage, sources, dest) of a COPY."""
    words = shlex.split(ins.args)
    flags = [w for w in words if w.startswith("--")]
    rest = [w for w in words if not w.startswith("--")]
    source_stage = None
    for f in flags:
        if f.startswith("--from="):
            source_stage = f.split("=", 1)[1]
    return source_stage, rest[:-1], rest[-1] if rest else ""


# ---- lint ----

def lint(text, dockerignore_text):
    """Problems as (line, message)."""
    problems = []
    stages = parse(text)
    if not stages or stages[0].image == "":
        return [(1, "the Dockerfile must start with FROM")]
    releases = set()
    names = set()
    for stage in stages:
        image = stage.image
        if image.lower() == "scratch":
            continue
        if image in names:
            continue
        repo, _, tag = image.partition("@")[0].rpartition(":") if ":" in image else (image, "", "")
        if not tag or tag == "latest" or "/" in tag:
            problems.append((stage.line, f"FROM {image}: pin an explicit tag (not latest)"))
        else:
            releases.add(tag.split("-")[0])
        if stage.name:
            names.add(stage.name)
    if len(releases) > 1:
        problems.append((stages[0].line, "all stages must use the same Debian release, got "
                         + ", ".join(sorted(releases))))
    seen_stages = set()
    for stage in stages:
        for ins in stage.instructions:
            kw, args = ins.keyword, ins.args
            if kw == "ADD":
                problems.append((ins.line, "use COPY, not ADD (ADD fetches URLs and unpacks "
                                 "archives)"))
            if kw == "RUN":
                if re.search(r"\bsudo\b", args):
                    problems.append((ins.line, "no sudo in RUN: RUN already runs as root"))
                if re.search(r"\b(curl|wget)\b", args):
                    problems.append((ins.line, "no downloads in RUN: install from Debian's "
                                     "packages only"))
                if re.search(r"\bapt-get\s+(-\S+\s+)*install\b", args) or \
                        re.search(r"\bapt\s+install\b", args):
                    if re.search(r"\bapt\s+install\b", args):
                        problems.append((ins.line, "use apt-get, not apt, in scripts"))
                    if not re.search(r"\bapt-get\s+(-\S+\s+)*update\b.*\binstall\b", args):
                        problems.append((ins.line, "run apt-get update in the same RUN as "
                                         "apt-get install"))
                    if "--no-install-recommends" not in args:
                        problems.append((ins.line, "apt-get install without "
                                         "--no-install-recommends"))
                    if not re.search(r"install\s+(\S+\s+)*(-y|--yes|--assume-yes)\b", args):
                        problems.append((ins.line, "apt-get install without -y"))
                    if "rm -rf /var/lib/apt/lists/*" not in args:
                        problems.append((ins.line, "remove /var/lib/apt/lists/* in the RUN that "
                                         "installs packages"))
            if kw == "COPY":
                source_stage, _, _ = copy_args(ins)
                if source_stage is not None and source_stage not in seen_stages and \
                        not source_stage.isdigit():
                    problems.append((ins.line, f"COPY --from={source_stage}: no earlier stage of "
                                     "that name"))
            if kw in ("ENTRYPOINT", "CMD"):
                try:
                    ok = isinstance(json.loads(args), list)
                except ValueError:
                    ok = False
                if not ok:
                    problems.append((ins.line, f"{kw} must use the exec (JSON array) form"))
        if stage.name:
            seen_stages.add(stage.name)
    final = stages[-1]
    users = [i for i in final.instructions if i.keyword == "USER"]
    if not users:
        problems.append((final.line, "the final stage must set USER to a non-root numeric UID"))
    else:
        user = users[-1].args
        uid, _, gid = user.partition(":")
        if not uid.isdigit() or (gid and not gid.isdigit()):
            problems.append((users[-1].line, f"USER {user}: use a numeric UID[:GID] so that "
                             "Kubernetes' runAsNonRoot can verify it"))
        elif int(uid) == 0 or (gid and int(gid) == 0):
            problems.append((users[-1].line, f"USER {user}: must not be root"))
        last_run = max((i.line for i in final.instructions if i.keyword == "RUN"), default=0)
        if users[-1].line < last_run:
            problems.append((users[-1].line, "USER must come after the final stage's last RUN"))
    exposed = " ".join(i.args for i in final.instructions if i.keyword == "EXPOSE").split()
    for port in ("53/udp", "53/tcp"):
        if port not in exposed:
            problems.append((final.line, f"EXPOSE {port} missing"))
    if not any(i.keyword == "RUN" and re.search(r"\bsetcap\s+cap_net_bind_service[+=]", i.args)
               for i in final.instructions):
        problems.append((final.line, "the final stage must setcap cap_net_bind_service on the "
                         "binary (it binds port 53 as a non-root user)"))
    if not any(i.keyword == "ENTRYPOINT" for i in final.instructions):
        problems.append((final.line, "the final stage has no ENTRYPOINT"))
    ignored = [l.strip() for l in dockerignore_text.splitlines()
               if l.strip() and not l.startswith("#")]
    for must in (".git", "build*"):
        if must not in ignored:
            problems.append((0, f".dockerignore must list {must}"))
    return problems


# ---- the build context ----

def ignore_patterns():
    path = REPO / ".dockerignore"
    lines = path.read_text().splitlines() if path.exists() else []
    return [l.strip().rstrip("/") for l in lines if l.strip() and not l.startswith("#")]


def ignored(rel, patterns):
    for p in patterns:
        for pat in (p, p[3:] if p.startswith("**/") else None):
            if pat and fnmatch.fnmatchcase(rel, pat):
                return True
    return False


def sync_context(dest):
    """Copies the build context into dest, keeping mtimes (so ninja rebuilds only what changed)
    and deleting what is no longer in the context."""
    patterns = ignore_patterns()
    wanted = set()
    for root, dirs, files in os.walk(REPO):
        rel_root = os.path.relpath(root, REPO)
        rel_root = "" if rel_root == "." else rel_root + "/"
        dirs[:] = [d for d in dirs if not ignored(rel_root + d, patterns)]
        for d in dirs:
            wanted.add(rel_root + d)
            (dest / (rel_root + d)).mkdir(parents=True, exist_ok=True)
        for f in files:
            rel = rel_root + f
            if ignored(rel, patterns):
                continue
            wanted.add(rel)
            src, dst = REPO / rel, dest / rel
            if src.is_symlink():
                if dst.is_symlink() or dst.exists():
                    dst.unlink()
                os.symlink(os.readlink(src), dst)
                continue
            s = src.stat()
            if dst.exists() and not dst.is_symlink():
                d = dst.stat()
                if d.st_size == s.st_size and int(d.st_mtime) == int(s.st_mtime):
                    continue
            shutil.copy2(src, dst)
    for root, dirs, files in os.walk(dest, topdown=False):
        for name in files + dirs:
            p = pathlib.Path(root) / name
            if str(p.relative_to(dest)) not in wanted:
                if p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p)
                else:
                    p.unlink()


# ---- helpers ----

class Failures:
    def __init__(self):
        self.items = []

    def add(self, line, message):
        self.items.append((line, message))
        print(f"Dockerfile:{line}: {message}", file=sys.stderr)


def installed(package):
    res = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True,
                         text=True)
    return res.returncode == 0 and "install ok installed" in res.stdout


def has_candidate(package):
    res = subprocess.run(["apt-cache", "policy", package], capture_output=True, text=True)
    m = re.search(r"Candidate:\s*(\S+)", res.stdout)
    return bool(m) and m.group(1) != "(none)"


def closure(packages):
    """The packages and everything they depend on (Depends and Pre-Depends, every alternative)."""
    if not packages:
        return set()
    res = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                          "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances",
                          *packages], capture_output=True, text=True)
    return {l.strip().split(":")[0] for l in res.stdout.splitlines()
            if l and not l.startswith(" ") and not l.startswith("<")}


def base_image_packages():
    """What a debian:*-slim image holds: the Essential and Priority: required packages, apt, and
    their dependencies (every alternative, so a slight overestimate)."""
    res = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${Priority} ${Essential}\n"],
                         capture_output=True, text=True)
    roots = ["apt"]
    for l in res.stdout.splitlines():
        name, priority, essential = (l.split() + ["", ""])[:3]
        if priority == "required" or essential == "yes":
            roots.append(name)
    return closure(roots)


def package_of(path):
    for candidate in (path, os.path.realpath(path)):
        for variant in (candidate, re.sub(r"^/lib/", "/usr/lib/", candidate),
                        re.sub(r"^/usr/lib/", "/lib/", candidate)):
            res = subprocess.run(["dpkg", "-S", variant], capture_output=True, text=True)
            if res.returncode == 0:
                return res.stdout.split(":")[0].strip()
    return None


def run_sh(command, cwd, env, timeout):
    print(f"check_dockerfile: RUN {command}", flush=True)
    return subprocess.run(["/bin/sh", "-c", command], cwd=cwd, env=env, timeout=timeout)


# ---- the build stage ----

def run_build_stage(stage, work, failures, deadline):
    """Runs the build stage in work/<name>; returns that folder, or None on failure."""
    root = work / (stage.name or f"stage{stage.index}")
    root.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.setdefault("CCACHE_DIR", os.path.expanduser("~/.cache/petdns-ccache"))
    env["CCACHE_BASEDIR"] = str(root)  # paths relative to the stage folder: hits across clones
    workdir = None
    for ins in stage.instructions:
        if ins.keyword == "WORKDIR":
            workdir = ins.args
        elif ins.keyword == "ENV":
            for key, value in re.findall(r"(\w+)=(\S+)", ins.args):
                env[key] = value
        elif ins.keyword == "COPY":
            source_stage, sources, dest = copy_args(ins)
            if source_stage is not None or sources != ["."]:
                failures.add(ins.line, "the build stage may only COPY . (the context)")
                return None
            sync_context(root / dest)
        elif ins.keyword == "RUN":
            if workdir and re.search(r"(^|[\s\"'=:])" + re.escape(workdir) + r"(/|[\s\"']|$)",
                                     ins.args):
                failures.add(ins.line, f"use paths relative to WORKDIR {workdir} in RUN, so the "
                             "check can run it elsewhere")
                return None
            packages = apt_packages(ins.args)
            if packages:
                missing = [p for p in packages if not installed(p)]
                if missing:
                    failures.add(ins.line, "build packages not installed here (add them to "
                                 ".ci/install-deps): " + " ".join(missing))
                    return None
                continue
            try:
                res = run_sh(ins.args, root, env, max(1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                failures.add(ins.line, "RUN timed out")
                return None
            if res.returncode != 0:
                failures.add(ins.line, f"RUN failed with exit status {res.returncode}")
                return None
    return root, workdir


# ---- the runtime stage ----

def check_libraries(binary, runtime_packages, failures, line):
    base = base_image_packages()
    provided = closure(runtime_packages) | base
    needed = subprocess.run(["objdump", "-p", str(binary)], capture_output=True, text=True).stdout
    direct = set(re.findall(r"NEEDED\s+(\S+)", needed))
    ldd = subprocess.run(["ldd", str(binary)], capture_output=True, text=True).stdout
    for l in ldd.splitlines():
        m = re.match(r"\s*(\S+) => (\S+)", l)
        if not m:
            continue
        soname, path = m.groups()
        if path == "not":
            failures.add(line, f"ldd: {soname} not found")
            continue
        package = package_of(path)
        if package is None:
            failures.add(line, f"{path} ({soname}) belongs to no Debian package")
        elif soname in direct and package not in runtime_packages and package not in base:
            failures.add(line, f"petdns links {soname} ({package}): install {package} in the "
                         "runtime stage")
        elif package not in provided:
            failures.add(line, f"{soname} ({package}) would be missing from the runtime image")
    print(f"check_dockerfile: {len(direct)} linked libraries, every ldd dependency provided by "
          "the runtime packages or the base image", flush=True)


CHECK_ZONE = """$ORIGIN example.org.
$TTL 300
@ IN SOA ns.example.org. hostmaster.example.org. 1 3600 600 86400 300
@ IN NS ns.example.org.
ns IN A 192.0.2.1
www IN A 192.0.2.10
"""

CHECK_CONFIG = """[[server]]
listen = ["127.0.0.1:53"]
zones = ["example.org."]
[server.file]
path = "example.org.zone"
"""

# Runs inside `unshare --mount --net`: the stage's commands, then the binary as the image's user.
NAMESPACE_SCRIPT = r"""
set -eu
mount --make-rprivate /
mount --bind "$ROOTFS/usr/local" /usr/local
mount --bind "$ROOTFS/etc" /etc
ip link set lo up
for cmd in "$@"; do
  echo "check_dockerfile: RUN (namespace) $cmd"
  /bin/sh -c "$cmd"
done
cd /
drop="setpriv --reuid=$UID_ --regid=$GID_ --clear-groups --inh-caps=-all"
drop="$drop --bounding-set=-all,+net_bind_service --no-new-privs"
dir=/usr/local/share/petdns-dockerfile-check
$drop /usr/local/bin/peer-finder -h 2>&1 | grep -q '^Usage of /usr/local/bin/peer-finder:' \
  || { echo "check_dockerfile: peer-finder -h as the image user failed"; exit 11; }
timeout 5 $drop "$PLAIN_BINARY" serve --config "$dir/petdns.toml" >"$LOGS/plain.log" 2>&1 || true
grep -q 'permission denied' "$LOGS/plain.log" \
  || { echo "check_dockerfile: without the file capability port 53 was bound anyway?"; \
       cat "$LOGS/plain.log"; exit 12; }
$drop /usr/local/bin/petdns serve --config "$dir/petdns.toml" >"$LOGS/image.log" 2>&1 &
pid=$!
ok=""
for _ in $(seq 50); do
  if dig +short +time=1 +tries=1 @127.0.0.1 -p 53 www.example.org A 2>/dev/null \
       | grep -qx 192.0.2.10; then ok=1; break; fi
  kill -0 $pid 2>/dev/null || break
  sleep 0.1
done
kill $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
[ -n "$ok" ] || { echo "check_dockerfile: petdns as UID $UID_ did not answer on port 53"; \
                  cat "$LOGS/image.log"; exit 13; }
echo "check_dockerfile: petdns as UID $UID_ (only NET_BIND_SERVICE, no_new_privs) answers on :53"
"""


def run_runtime_stage(stage, build, work, failures):
    build_root, build_workdir = build
    rootfs = work / "rootfs"
    if rootfs.exists():
        shutil.rmtree(rootfs)
    (rootfs / "usr/local").mkdir(parents=True)
    os.chmod(rootfs, 0o755)
    runtime_packages = []
    commands = []
    apt_line = stage.line
    for ins in stage.instructions:
        if ins.keyword == "COPY":
            source_stage, sources, dest = copy_args(ins)
            if source_stage is None:
                failures.add(ins.line, "the runtime stage copies only from the build stage")
                continue
            if not dest.startswith("/usr/local"):
                failures.add(ins.line, "the check maps only /usr/local: COPY there")
                continue
            for src in sources:
                if build_workdir and src.startswith(build_workdir.rstrip("/") + "/"):
                    local = build_root / src[len(build_workdir.rstrip("/")) + 1:]
                else:
                    failures.add(ins.line, f"COPY --from: {src} is not under the build WORKDIR")
                    continue
                if not local.exists():
                    failures.add(ins.line, f"COPY --from: {src} was not produced by the build")
                    continue
                target = rootfs / dest.lstrip("/")
                shutil.copytree(local, target, symlinks=True, dirs_exist_ok=True)
        elif ins.keyword == "RUN":
            packages = apt_packages(ins.args)
            if packages:
                apt_line = ins.line
                runtime_packages += packages
                for p in packages:
                    if not has_candidate(p):
                        failures.add(ins.line, f"package {p} not found in the apt lists")
                continue
            commands.append(ins.args)
        elif ins.keyword not in ("USER", "EXPOSE", "ENTRYPOINT", "CMD", "ENV", "LABEL",
                                 "WORKDIR"):
            failures.add(ins.line, f"the check does not know how to run {ins.keyword}")
    binary = rootfs / "usr/local/bin/petdns"
    link = rootfs / "usr/local/bin/peer-finder"
    if not binary.is_file():
        failures.add(stage.line, "the image would have no /usr/local/bin/petdns")
        return
    if not link.is_symlink() or os.readlink(link) != "petdns":
        failures.add(stage.line, "the image would have no /usr/local/bin/peer-finder -> petdns")
    check_libraries(binary, runtime_packages, failures, apt_line)
    for p in runtime_packages:
        if not installed(p):
            failures.add(apt_line, f"runtime package {p} is not installed here, so the image "
                         "checks below cannot run (add it to .ci/install-deps)")
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("setpriv") is None:
        print("check_dockerfile: not root (or no unshare/setpriv): the runtime stage's user and "
              "capability commands were not run", flush=True)
        return
    user = [i for i in stage.instructions if i.keyword == "USER"][-1].args
    uid, _, gid = user.partition(":")
    share = rootfs / "usr/local/share/petdns-dockerfile-check"
    share.mkdir(parents=True, exist_ok=True)
    (share / "example.org.zone").write_text(CHECK_ZONE)
    (share / "petdns.toml").write_text(CHECK_CONFIG)
    for p in [rootfs / "usr", rootfs / "usr/local", rootfs / "usr/local/share", share]:
        os.chmod(p, 0o755)
    for f in share.iterdir():
        os.chmod(f, 0o644)
    subprocess.run(["cp", "-a", "/etc", str(rootfs / "etc")], check=True)
    logs = pathlib.Path(tempfile.mkdtemp(prefix="petdns-dockerfile-logs-"))
    os.chmod(logs, 0o777)
    plain = logs / "petdns-without-capability"
    shutil.copy(binary, plain)  # a copy carries no file capability
    os.chmod(plain, 0o755)
    env = dict(os.environ, ROOTFS=str(rootfs), UID_=uid, GID_=gid or uid, LOGS=str(logs),
               PLAIN_BINARY=str(plain))
    res = subprocess.run(["unshare", "--mount", "--net", "/bin/bash", "-c", NAMESPACE_SCRIPT,
                          "namespace", *commands], env=env, timeout=120)
    shutil.rmtree(logs, ignore_errors=True)
    if res.returncode != 0:
        failures.add(stage.line, f"the runtime stage's commands or the capability check failed "
                     f"(exit status {res.returncode})")
        return
    getcap = subprocess.run(["getcap", str(binary)], capture_output=True, text=True).stdout
    if "cap_net_bind_service" not in getcap:
        failures.add(stage.line, "the runtime stage left no cap_net_bind_service on petdns")
    passwd = (rootfs / "etc/passwd").read_text()
    if not re.search(rf"^[^:]+:[^:]*:{uid}:{gid or uid}:", passwd, re.M):
        failures.add(stage.line, f"USER {user}: the runtime stage's commands created no such "
                     "user")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lint-only", action="store_true")
    parser.add_argument("--work", help="scratch folder for the run (kept between runs)")
    parser.add_argument("--timeout", type=float, default=840, help="seconds for the whole run")
    parser.add_argument("--dockerfile", default=str(REPO / "Dockerfile"))
    args = parser.parse_args()
    started = time.monotonic()
    text = pathlib.Path(args.dockerfile).read_text()
    ignore = REPO / ".dockerignore"
    failures = Failures()
    for line, message in lint(text, ignore.read_text() if ignore.exists() else ""):
        failures.add(line, message)
    if args.lint_only or failures.items:
        print(f"check_dockerfile: lint {'failed' if failures.items else 'OK'}")
        return 1 if failures.items else 0
    if not args.work:
        parser.error("--work DIR is needed to run the stages")
    work = pathlib.Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    stages = parse(text)
    build = run_build_stage(stages[0], work, failures, started + args.timeout)
    if build is not None:
        run_runtime_stage(stages[-1], build, work, failures)
    took = time.monotonic() - started
    print(f"check_dockerfile: {'FAILED' if failures.items else 'OK'} in {took:.0f} s")
    return 1 if failures.items else 0


if __name__ == "__main__":
    sys.exit(main())
