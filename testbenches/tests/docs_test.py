#!/usr/bin/env python3
r"""Docs that run: every `$ ` command in a fenced block of README.md, docs/*.md and
traces/README.md runs, and the lines shown after it must be what it prints (README,
"Docs that run").

    python3 testbenches/tests/docs_test.py --build build [FILE.md ...]

A command goes on over lines ending in `\` and over lines shown with the shell's `> ` prompt.
Each file's commands run in order in one temporary copy of the source tree (a command may read
what an earlier one of the same file wrote), with the build's directory first on PATH and
`build` in the copy pointing at it. A command's output is its stdout then its stderr. Shown
lines compare exactly, except:
  - a line `...` (alone, any indentation) stands for any number of lines;
  - a line ending in `  # varies` (wall-clock, the machine's CPUs) matches a line that differs
    only in its numbers;
  - a block preceded by `<!-- docs-test: skip: REASON -->` does not run (say why);
  - `<!-- docs-test: exit N -->` before a block: its last command exits N (the others, and
    by default all, exit 0).
Exit 1 with the shown and the printed lines of each command that differs; 0 when all match.

    python3 testbenches/tests/docs_test.py --build build --update [FILE.md ...]

rewrites, in the Markdown files, the shown lines of each command that differs with what it
printed, when its shown lines have no `...` and as many lines as it printed (a `  # varies`
line that still matches is kept as written); any other difference is reported, not rewritten.
Read the diff before committing it: the docs' prose quotes numbers this does not touch.
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

FENCE = re.compile(r"^\s*```")
DIRECTIVE = re.compile(r"^<!--\s*docs-test:\s*(skip|exit)\s*:?\s*(.*?)\s*-->$")
VARIES = "  # varies"
NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


class Command:
    def __init__(self, path, line, text):
        self.path, self.line, self.text, self.shown = path, line, text, []
        self.shown_line = None  # the file's line number of the first shown line


class Block:
    def __init__(self, path, line, skip, exit_code):
        self.path, self.line, self.skip, self.exit_code, self.commands = path, line, skip, exit_code, []


def blocks(path):
    """The fenced blocks of `path` that hold `$ ` commands, each with its commands and the
    lines shown after each."""
    with open(path) as f:
        lines = f.read().split("\n")
    found = []
    i = 0
    while i < len(lines):
        if not FENCE.match(lines[i]):
            i += 1
            continue
        start = i
        directives = {}
        j = start - 1
        while j >= 0 and DIRECTIVE.match(lines[j].strip()):
            m = DIRECTIVE.match(lines[j].strip())
            directives[m.group(1)] = m.group(2)
            j -= 1
        i += 1
        body = []
        while i < len(lines) and not FENCE.match(lines[i]):
            body.append((i + 1, lines[i]))
            i += 1
        i += 1  # the closing fence
        if not any(text.startswith("$ ") for _, text in body):
            if directives:
                sys.exit("%s:%d: a docs-test comment before a block with no `$ ` command" % (path, start + 1))
            continue
        if "skip" in directives and not directives["skip"]:
            sys.exit("%s:%d: docs-test: skip needs a reason" % (path, start + 1))
        block = Block(path, start + 1, directives.get("skip"), int(directives.get("exit", "0")))
        k = 0
        while k < len(body):
            number, text = body[k]
            if not text.startswith("$ "):
                if not block.commands:
                    sys.exit("%s:%d: a line before the block's first `$ ` command" % (path, number))
                if not block.commands[-1].shown:
                    block.commands[-1].shown_line = number
                block.commands[-1].shown.append(text)
                k += 1
                continue
            command = text[2:]
            # Continuation lines: after a trailing backslash, or shown with the shell's `> `
            # prompt (a quoted string over several lines).
            while k + 1 < len(body) and (command.endswith("\\") or body[k + 1][1].startswith("> ")):
                k += 1
                command += "\n" + (body[k][1][2:] if body[k][1].startswith("> ") else body[k][1])
            block.commands.append(Command(path, number, command))
            k += 1
        found.append(block)
    return found


def line_matches(shown, actual):
    if shown.endswith(VARIES):
        pattern = NUMBER.split(shown[:-len(VARIES)].rstrip())
        return re.fullmatch(r"[-+]?\d+(?:\.\d+)?".join(re.escape(p) for p in pattern), actual.rstrip()) is not None
    return shown.rstrip() == actual.rstrip()


def output_matches(shown, actual):
    """`shown` (with `...` lines) against the real lines `actual`."""
    if not shown:
        return not actual
    if shown[0].strip() == "...":
        return any(output_matches(shown[1:], actual[n:]) for n in range(len(actual) + 1))
    return bool(actual) and line_matches(shown[0], actual[0]) and output_matches(shown[1:], actual[1:])


def updated(shown, actual):
    """The shown lines rewritten to `actual`, or None when that cannot be done line by line."""
    if len(shown) != len(actual) or any(line.strip() == "..." for line in shown):
        return None
    return [s if line_matches(s, a) else (a.rstrip() + VARIES if s.endswith(VARIES) else a)
            for s, a in zip(shown, actual)]


def python_with_matplotlib():
    has = "import importlib.util, sys; sys.exit(importlib.util.find_spec('matplotlib') is None)"
    for python in (sys.executable, "/usr/bin/python3"):
        if subprocess.run([python, "-c", has], capture_output=True).returncode == 0:
            return python
    return sys.executable


def shown_path(path, source):
    return os.path.relpath(path, source) if path.startswith(source + os.sep) else path


def copy_tree(source, build, into):
    """The source tree without its build directories and .git, `build` pointing at the build."""
    def ignore(directory, names):
        if os.path.abspath(directory) != source:
            return []
        return [n for n in names if n == ".git" or n.startswith("build")]
    shutil.copytree(source, into, ignore=ignore, symlinks=True)
    os.symlink(build, os.path.join(into, "build"))


def run_file(path, source, build, update=False):
    failures = 0
    rewrites = {}  # file line number (1-based) -> new text
    runnable = blocks(path)
    if not runnable:
        return 0
    with tempfile.TemporaryDirectory(prefix="smmusim-docs-") as tmp:
        # `python3` in the docs: one with Debian's python3-matplotlib (scripts/plot.py), where
        # another Python (a pyenv, a venv) comes first on PATH, as system_plot_tests finds it.
        bin_dir = os.path.join(tmp, "bin")
        os.mkdir(bin_dir)
        os.symlink(python_with_matplotlib(), os.path.join(bin_dir, "python3"))
        env = dict(os.environ, PATH=os.pathsep.join([build, bin_dir, os.environ.get("PATH", "")]))
        env.pop("SMMUSIM_BIN", None)  # the docs find smmu-sim on PATH, as a reader's shell does
        cwd = os.path.join(tmp, "src")
        copy_tree(source, build, cwd)
        for block in runnable:
            where = "%s:%d" % (shown_path(block.path, source), block.line)
            if block.skip:
                print("SKIP %s: %s" % (where, block.skip))
                continue
            for n, command in enumerate(block.commands):
                exit_code = block.exit_code if n == len(block.commands) - 1 else 0
                where = "%s:%d" % (shown_path(command.path, source), command.line)
                began = time.monotonic()
                p = subprocess.run(["bash", "-o", "pipefail", "-c", command.text], cwd=cwd, env=env,
                                   capture_output=True, text=True)
                seconds = time.monotonic() - began
                actual = (p.stdout + p.stderr).split("\n")
                if actual and actual[-1] == "":
                    actual.pop()
                problems = []
                if p.returncode != exit_code:
                    problems.append("exit %d, the docs say %d" % (p.returncode, exit_code))
                if not output_matches(command.shown, actual):
                    problems.append("output differs")
                new = updated(command.shown, actual) if update and p.returncode == exit_code else None
                if problems and new is not None:
                    for n_line, text in enumerate(new):
                        rewrites[command.shown_line + n_line] = text
                    print("UPDATED %s (%.1f s): %s" % (where, seconds, command.text.split("\n")[0][:100]))
                elif problems:
                    failures += 1
                    print("FAIL %s (%.1f s): %s\n$ %s" % (where, seconds, "; ".join(problems), command.text))
                    print("--- shown\n" + "\n".join(command.shown))
                    print("--- printed\n" + "\n".join(actual))
                    print("---")
                else:
                    print("ok   %s (%.1f s): %s" % (where, seconds, command.text.split("\n")[0][:100]))
    if rewrites:
        with open(path) as f:
            lines = f.read().split("\n")
        for number, text in rewrites.items():
            lines[number - 1] = text
        with open(path, "w") as f:
            f.write("\n".join(lines))
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", required=True, help="the build directory (holds smmu-sim)")
    parser.add_argument("--update", action="store_true",
                        help="rewrite the shown output of commands that differ (see above)")
    parser.add_argument("files", nargs="*", help="Markdown files (default: README.md, docs/*.md, traces/README.md)")
    args = parser.parse_args()
    source = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    build = os.path.abspath(args.build)
    if not os.access(os.path.join(build, "smmu-sim"), os.X_OK):
        sys.exit("%s: no smmu-sim there" % build)
    files = [os.path.abspath(f) for f in args.files] or \
        [os.path.join(source, "README.md")] + sorted(glob.glob(os.path.join(source, "docs", "*.md"))) + \
        [os.path.join(source, "traces", "README.md")]
    failures = sum(run_file(f, source, build, args.update) for f in files)
    if failures:
        print("%d documented command(s) differ" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
