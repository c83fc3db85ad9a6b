"""Run as a subprocess by the durability tests: label cases and print one line after each
`set_label` has returned (that is, after the label is confirmed)."""
import sys

from workstation.core.project import Project


def main(directory: str, reader: str, first: int, last: int, repeat: int = 1) -> None:
    project = Project.open(directory)
    print("ready", flush=True)
    for round_ in range(repeat):
        for i in range(first, last):
            value = "abnormal" if (i + round_) % 2 else "normal"
            project.set_label(f"c{i}", value, reader=reader)
            print(f"confirmed c{i} {value}", flush=True)
    project.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]) if len(sys.argv) > 5 else 1)
