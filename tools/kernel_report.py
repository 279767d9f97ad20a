#!/usr/bin/env python3
"""kernel_report.py — compiles every kernel family offline for GPU targets, with the exact source and
build options the runtime passes for that vendor (`clgan kernels --emit DIR --profile P`), and prints
per kernel and target: registers (VGPR/SGPR on AMD, declared .reg counts on PTX), scratch/stack and
spill bytes, local memory, and flags spills.

Pipeline per family and target: clang-14 (OpenCL C, -nogpulib) -> LLVM bitcode, linked with
libclc's builtins for the target (so work-item functions are inlined, as a driver would) -> llc-14.
The drivers define __OPENCL_VERSION__; a bare clang does not, so it is passed here too.

  tools/kernel_report.py --clgan build/clgan [--target gfx1030 ...] [--markdown] [--json FILE]
Exit status: 0 all compiled, 1 a compile error (or a spill with --fail-on-spill), 77 a tool is missing.
"""
import argparse, json, os, re, shutil, subprocess, sys, tempfile

# target -> (device profile whose options the runtime would use, triple, cpu, libclc bitcode, LLVM
# version: Debian 12's default LLVM 14 predates gfx1100 (RDNA3), so that target uses LLVM 15).
TARGETS = {
    "gfx906": ("amd-gcn", "amdgcn-amd-amdhsa", "gfx906", "amdgcn--amdhsa.bc", "14"),
    "gfx90a": ("amd-gcn", "amdgcn-amd-amdhsa", "gfx90a", "amdgcn--amdhsa.bc", "14"),
    "gfx1030": ("amd-rdna2", "amdgcn-amd-amdhsa", "gfx1030", "amdgcn--amdhsa.bc", "14"),
    "gfx1100": ("amd-rdna2", "amdgcn-amd-amdhsa", "gfx1100", "amdgcn--amdhsa.bc", "15"),
    "nvptx64": ("nvidia-ampere", "nvptx64-nvidia-nvcl", "sm_86", "nvptx64--nvidiacl.bc", "14"),
}


def tools(target):
    v = TARGETS[target][4]
    return "clang-" + v, "llvm-link-" + v, "llc-" + v
CLC_DIR = os.environ.get("CLGAN_LIBCLC_DIR", "/usr/lib/clc")


def tools_missing(targets):
    missing = []
    for t in targets:
        missing += [x for x in tools(t) if not shutil.which(x) and x not in missing]
        bc = os.path.join(CLC_DIR, TARGETS[t][3])
        if not os.path.exists(bc):
            missing.append(bc + " (libclc-14)")
    return missing


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return p.returncode, p.stdout + p.stderr


def amd_stats(asm):
    """Per kernel from the amdhsa metadata block of llc's output."""
    out = {}
    meta = asm[asm.find("amdhsa.kernels:"):]
    for block in re.split(r"\n  - ", meta)[1:]:
        def field(name):
            m = re.search(r"\." + name + r":\s+(\S+)", block)
            return m.group(1) if m else None
        name = field("name")
        if not name:
            continue
        out[name] = {
            "vgpr": int(field("vgpr_count") or 0), "sgpr": int(field("sgpr_count") or 0),
            "scratch": int(field("private_segment_fixed_size") or 0),
            "spill": int(field("vgpr_spill_count") or 0) + int(field("sgpr_spill_count") or 0),
            "local": int(field("group_segment_fixed_size") or 0),
        }
    # Occupancy (waves per SIMD) from llc's comments, which follow each function's code.
    current = None
    for line in asm.splitlines():
        m = re.match(r"(\w+):\s+; @", line)
        if m:
            current = m.group(1)
        m = re.match(r"; Occupancy: (\d+)", line)
        if m and current in out:
            out[current]["occupancy"] = int(m.group(1))
    return out


def ptx_stats(ptx):
    out = {}
    for m in re.finditer(r"\.entry (\w+)\((.*?)\n\}", ptx, re.S):
        body = m.group(2)
        regs = sum(int(n) - 1 for n in re.findall(r"\.reg \.\w+ \s*%\w+<(\d+)>;", body))
        depot = sum(int(n) for n in re.findall(r"\.local \.align \d+ \.b8 \s*__local_depot\d+\[(\d+)\]", body))
        # Static __local arrays are module-scope .shared variables named after their kernel.
        shared = sum(int(n) for v, n in re.findall(r"\.shared \.align \d+ \.b8 \s*([\w$.]+)\[(\d+)\]", ptx)
                     if v.startswith(m.group(1) + "_$_"))
        out[m.group(1)] = {"vgpr": regs, "sgpr": 0, "scratch": depot, "spill": 0, "local": shared}
    return out


def compile_family(src, options, target, work):
    profile, triple, cpu, clc, _ = TARGETS[target]
    CLANG, LINK, LLC = tools(target)
    base = os.path.join(work, "%s-%s" % (os.path.basename(src)[:-3], target))
    cmd = [CLANG, "-x", "cl", "-target", triple, "-mcpu=" + cpu, "-nogpulib", "-O2", "-emit-llvm", "-c",
           "-D__OPENCL_VERSION__=120", "-Werror=implicit-function-declaration"] + options.split() + [src, "-o", base + ".bc"]
    rc, log = run(cmd)
    if rc:
        return None, "clang: " + log
    rc, log = run([LINK, "--only-needed", base + ".bc", os.path.join(CLC_DIR, clc), "-o", base + ".linked.bc"])
    if rc:
        return None, "llvm-link: " + log
    rc, log = run([LLC, "-O3", "-mtriple=" + triple, "-mcpu=" + cpu, base + ".linked.bc", "-o", base + ".s"])
    if rc:
        return None, "llc: " + log
    text = open(base + ".s").read()
    # An external call left after linking means a builtin the target library lacks.
    undefined = sorted(set(re.findall(r"\.extern \.func[^(]*?(\w+)\(", text) if triple.startswith("nvptx")
                           else re.findall(r"s_swappc_b64.*?(\w+)@rel32", text)))
    if undefined:
        return None, "unresolved calls: " + ", ".join(undefined)
    return (ptx_stats(text) if triple.startswith("nvptx") else amd_stats(text)), ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clgan", required=True)
    ap.add_argument("--target", action="append", choices=sorted(TARGETS))
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--fail-on-spill", action="store_true")
    a = ap.parse_args()
    targets = a.target or list(TARGETS)
    missing = tools_missing(targets)
    if missing:
        print("SKIP: missing %s (scripts/install-deps --test installs them)" % ", ".join(missing), file=sys.stderr)
        return 77
    rows, errors, spills = [], [], []
    with tempfile.TemporaryDirectory(prefix="clgan-kernels-") as work:
        for target in targets:
            emit = os.path.join(work, "emit-" + target)
            rc, log = run([a.clgan, "kernels", "--profile", TARGETS[target][0], "--emit", emit])
            if rc:
                print(log, file=sys.stderr)
                return 1
            options = open(os.path.join(emit, "options.txt")).read().strip()
            for f in sorted(os.listdir(emit)):
                if not f.endswith(".cl"):
                    continue
                stats, err = compile_family(os.path.join(emit, f), options, target, work)
                if stats is None:
                    errors.append("%s %s (%s): %s" % (target, f, options, err.strip()))
                    continue
                if not stats:
                    errors.append("%s %s: no kernels found in the compiler output" % (target, f))
                for k, s in sorted(stats.items()):
                    s.update(target=target, family=f[:-3], kernel=k, options=options)
                    rows.append(s)
                    if s["spill"]:
                        spills.append("%s %s" % (target, k))
    if a.markdown:
        print("| target | family | kernel | VGPR / .reg | SGPR | scratch B | spills | local B | waves/SIMD |")
        print("|---|---|---|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            print("| %s | %s | %s | %d | %d | %d | %d%s | %d | %s |" % (
                r["target"], r["family"], r["kernel"], r["vgpr"], r["sgpr"], r["scratch"], r["spill"],
                " **SPILL**" if r["spill"] else "", r["local"], r.get("occupancy", "")))
    else:
        print("%-8s %-16s %-28s %6s %5s %8s %6s %7s %5s" % ("target", "family", "kernel", "vgpr", "sgpr", "scratch",
                                                          "spill", "local", "occ"))
        for r in rows:
            print("%-8s %-16s %-28s %6d %5d %8d %6d %7d %5s%s" % (
                r["target"], r["family"], r["kernel"], r["vgpr"], r["sgpr"], r["scratch"], r["spill"], r["local"],
                r.get("occupancy", ""), "  SPILL" if r["spill"] else ""))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"rows": rows, "errors": errors, "spills": spills}, f, indent=1)
    for e in errors:
        print("ERROR " + e, file=sys.stderr)
    print("%d kernels x targets compiled, %d errors, %d with spills%s" % (
        len(rows), len(errors), len(spills), (": " + ", ".join(spills)) if spills else ""), file=sys.stderr)
    return 1 if errors or (a.fail_on_spill and spills) else 0


if __name__ == "__main__":
    sys.exit(main())
