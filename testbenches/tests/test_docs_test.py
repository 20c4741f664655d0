"""The rules of docs_test.py (README, "Docs that run") on a Markdown file of its own: continuation
lines, `...`, `  # varies`, the skip and exit comments, and a stale output found. Run by ctest
(docs_test_rules)."""
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import docs_test  # noqa: E402

DOC = """# A doc

```sh
echo this block has no prompt: it does not run
```

```
$ printf 'a\\nb\\nc\\nd\\n' > four.txt
$ cat four.txt
a
...
d
$ echo one \\
    two
one two
$ python3 -c 'print(1)
> print(2)'
1
2
$ echo took 12.5 s on 4 CPUs
took 3.0 s on 2 CPUs  # varies
```

<!-- docs-test: skip: needs a machine we do not have -->
```
$ false
```

<!-- docs-test: exit 3 -->
```
$ echo ok
ok
$ sh -c 'echo out; echo err >&2; exit 3'
out
err
```
"""


class DocsTestRules(unittest.TestCase):
    def run_doc(self, text):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "doc.md")
            with open(path, "w") as f:
                f.write(text)
            return subprocess.run([sys.executable, os.path.join(HERE, "docs_test.py"), "--build",
                                   os.environ["SMMUSIM_BUILD"], path], capture_output=True, text=True)

    def test_the_rules(self):
        blocks = docs_test.blocks(self.write(DOC))
        self.assertEqual([len(b.commands) for b in blocks], [5, 1, 2])
        self.assertEqual(blocks[0].commands[2].text, "echo one \\\n    two")
        self.assertEqual(blocks[0].commands[3].text, "python3 -c 'print(1)\nprint(2)'")
        self.assertEqual((blocks[1].skip, blocks[2].exit_code), ("needs a machine we do not have", 3))
        p = self.run_doc(DOC)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("doc.md:25: needs a machine we do not have\n", p.stdout)
        self.assertEqual(p.stdout.count("ok   "), 7)

    def test_a_stale_output_fails(self):
        for stale in ["$ echo 12.5\n12.6\n", "$ echo took 12 s\ntakes 12 s  # varies\n", "$ echo a\na\nb\n",
                      "$ exit 1\n"]:
            p = self.run_doc("```\n" + stale + "```\n")
            self.assertEqual(p.returncode, 1, stale)
            self.assertIn("1 documented command(s) differ", p.stdout)

    def write(self, text):
        fd, path = tempfile.mkstemp(suffix=".md")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        self.addCleanup(os.remove, path)
        return path


if __name__ == "__main__":
    unittest.main()
