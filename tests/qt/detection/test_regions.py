"""MARS regions of points: the phantom generator's region map reached through each phantom's
template_from_world matrix gives back the regions the generator planted its microbleeds in."""
from workstation.core.detection.regions import count_by_region, regions_of, template_matrix
from workstation.core.phantoms import make_phantom


def test_regions_of_planted_microbleeds_match_the_truth():
    phantom = make_phantom(seed=5151, index=1, resolution="0.5x0.5x2mm", n_microbleeds=10)
    lesions = phantom.truth["lesions"]
    assert len({les["region"] for les in lesions}) >= 2
    found = regions_of([les["centre"] for les in lesions], phantom.truth["template_from_world"])
    assert found == [les["region"] for les in lesions]
    assert count_by_region(found) == count_by_region(les["region"] for les in lesions)


def test_points_far_from_the_brain_are_outside_and_matrix_lookup(tmp_path):
    assert regions_of([(500.0, 0.0, 0.0)]) == ["outside"]
    assert regions_of([]) == []
    (tmp_path / "a.json").write_text('{"template_from_world": [[1,0,0,2],[0,1,0,0],[0,0,1,0],[0,0,0,1]]}')
    assert template_matrix({}, [str(tmp_path / "a.nii.gz")])[0][3] == 2
    assert template_matrix({"template_from_world": "m"}, []) == "m"
    assert template_matrix(None, [str(tmp_path / "b.nii.gz")]) is None
