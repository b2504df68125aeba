"""Java for Spark: Spark runs on the JVM, and needs Java 17 or newer.

Standard library only, so that `make test-spark` can run this file with any Python before it
installs anything: `python scripts/mesh/engines/spark/java.py` exits 1 with a message when
Java is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

MIN_JAVA = 17


def major_version(version_output: str) -> int | None:
    """The major version in `java -version` output: `"17.0.15"` -> 17, `"1.8.0_392"` -> 8."""
    found = re.search(r'version "(\d+)(?:\.(\d+))?', version_output)
    if not found:
        return None
    major = int(found.group(1))
    return int(found.group(2) or 0) if major == 1 else major


def problem() -> str | None:
    """What keeps Spark from running on this machine's Java, or None if Java will do."""
    home = os.environ.get("JAVA_HOME")  # what pyspark starts, when set
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if java is None or not Path(java).exists():
        return (
            f"Spark needs Java {MIN_JAVA} or newer (it runs on the JVM), and there is no "
            f"{java if home else '`java` on PATH'}. Install a JDK (e.g. `apt-get install "
            "openjdk-17-jre-headless`), or set JAVA_HOME to one."
        )
    shown = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    major = major_version(shown.stderr + shown.stdout)
    if major is None or major < MIN_JAVA:
        found = f"Java {major}" if major is not None else "a Java of unknown version"
        return (
            f"Spark needs Java {MIN_JAVA} or newer; {java} is {found}. Set JAVA_HOME to a "
            "newer JDK, or put one first on PATH."
        )
    return None


def main() -> None:
    found = problem()
    if found:
        print(found, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
