"""The 6-leaf, 3-level tree of the taxonomy tests and its mapping to levels 1 and 2, written by hand."""
import csv

TREE6 = {
    "malignant": {"melanocytic_malignant": {"melanoma": {}, "lentigo_maligna": {}},
                  "epithelial_malignant": {"bcc": {}, "scc": {}}},
    "benign": {"melanocytic_benign": {"nevus": {}}, "epithelial_benign": {"seborrhoeic_keratosis": {}}},
}
LEAVES = ["melanoma", "lentigo_maligna", "bcc", "scc", "nevus", "seborrhoeic_keratosis"]
# written by hand, not computed from the tree: each leaf's node at level 1 and at level 2
LEVEL1 = {"melanoma": "malignant", "lentigo_maligna": "malignant", "bcc": "malignant", "scc": "malignant",
          "nevus": "benign", "seborrhoeic_keratosis": "benign"}
LEVEL2 = {"melanoma": "melanocytic_malignant", "lentigo_maligna": "melanocytic_malignant",
          "bcc": "epithelial_malignant", "scc": "epithelial_malignant",
          "nevus": "melanocytic_benign", "seborrhoeic_keratosis": "epithelial_benign"}
LEVEL1_NODES = ["malignant", "benign"]
LEVEL2_NODES = ["melanocytic_malignant", "epithelial_malignant", "melanocytic_benign", "epithelial_benign"]


def write_csv(path, header, rows) -> str:
    """A CSV file of `rows` under `header`; returns its path as a string."""
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return str(path)
