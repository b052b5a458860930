"""The class-specificity measure: by hand, its chance level and interval, invariance to channel count, and the
caveat for folders too small to tell."""

import numpy as np
import pytest

from photolab.models.analysis.specificity import class_specificity, specificity_report, stage_specificity


def test_class_specificity_by_hand():
    labels = ["a", "a", "b", "b"]
    excitations = {
        "layer1.0.se": np.array([[0.0], [0.0], [1.0], [1.0]]),   # constant within class: 1
        "layer1.1.se": np.array([[0.0], [1.0], [0.0], [1.0]]),   # same class means: 0
        "layer2.0.se": np.array([[0.0], [2.0], [1.0], [3.0]]),   # means 1, 2; between 0.25 / total 1.25
    }
    result = class_specificity(excitations, labels)
    assert list(result) == list(excitations)
    np.testing.assert_allclose(list(result.values()), [1.0, 0.0, 0.2], atol=1e-12)
    stages = stage_specificity(excitations, labels)
    assert list(stages) == ["layer1", "layer2"]
    np.testing.assert_allclose(list(stages.values()), [0.5, 0.2], atol=1e-12)
    with pytest.raises(ValueError, match="two classes"):
        class_specificity(excitations, ["a"] * 4)
    with pytest.raises(ValueError, match=r"expected \(3, C\)"):
        class_specificity(excitations, ["a", "b", "b"])


def test_class_specificity_separates_class_driven_channels():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 50)
    noise = rng.uniform(0.2, 0.8, size=(200, 64))
    driven = np.clip(noise * 0.2 + 0.2 * labels[:, None], 0, 1)
    result = class_specificity({"early.se": noise, "late.se": driven}, labels)
    assert result["early.se"] < 0.05 and result["late.se"] > 0.9


def test_the_measure_does_not_grow_with_the_channel_count():
    """Random excitations carry no class information: whatever the channel count, the measure stays near its
    expected value (K - 1) / (N - 1), and so does the chance level."""
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(3), 20)
    expected = 2 / (len(labels) - 1)
    for channels in (8, 64, 2048):
        values = [class_specificity({"b.se": rng.uniform(size=(60, channels))}, labels)["b.se"] for _ in range(30)]
        assert np.mean(values) == pytest.approx(expected, rel=0.2)
        report = specificity_report({"layer1.0.se": rng.uniform(size=(60, channels))}, labels, permutations=100,
                                    bootstrap=20)
        assert report.blocks["layer1.0.se"].chance == pytest.approx(expected, rel=0.2)


def test_with_shuffled_labels_the_measure_sits_at_its_chance_level():
    rng = np.random.default_rng(2)
    labels = np.repeat(np.arange(4), 25)
    driven = rng.uniform(0.2, 0.8, size=(100, 128)) * 0.5 + 0.1 * labels[:, None]
    shuffled = rng.permutation(labels)
    report = specificity_report({"layer1.0.se": driven}, shuffled)
    block = report.blocks["layer1.0.se"]
    assert block.value == pytest.approx(block.chance, abs=0.02) and not block.above_chance
    assert block.low <= block.chance <= block.high
    assert report.stages["layer1"] == block  # one block: the stage is that block
    honest = specificity_report({"layer1.0.se": driven}, labels).blocks["layer1.0.se"]
    assert honest.above_chance and honest.low > honest.chance_high


def test_a_tiny_folder_gets_the_caveat():
    """3 classes, 10 images (the folder that read as 'early blocks most class-specific'): said to be too small."""
    rng = np.random.default_rng(3)
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    excitations = {f"layer{s}.{b}.se": rng.uniform(size=(10, 64 * 2 ** s)) for s in range(1, 5) for b in range(2)}
    report = specificity_report(excitations, labels)
    assert report.too_small and report.summary() == report.caveat
    assert report.caveat.startswith("Too small to tell: the smallest class has 3 images")
    data = report.to_dict()
    assert data["too_small"] is True and data["caveat"] == report.caveat
    assert set(data["stages"]["layer1"]) == {"value", "chance", "chance_high", "p_value", "ci", "above_chance"}
    assert data["permutations"] == 200 and data["seed"] == 0
    done = []
    assert specificity_report(excitations, labels, progress=done.append).to_dict() == data  # fixed seed: repeatable
    assert done[-1] == 1.0 and done == sorted(done)


def test_strong_class_signal_in_late_blocks_ranks_them_above_chance():
    """A folder whose late blocks follow the class (as in the SENet paper's Fig. 6) and whose early blocks do
    not: the late stages are above chance and ranked first, the early ones are not."""
    rng = np.random.default_rng(4)
    labels = np.repeat(np.arange(3), 15)
    signal = rng.uniform(size=(3, 512))[labels]  # one excitation pattern per class
    excitations = {}
    for stage, (channels, strength) in enumerate([(64, 0.0), (128, 0.0), (256, 0.5), (512, 1.0)], start=1):
        for block in range(2):
            noise = rng.uniform(size=(45, channels))
            excitations[f"layer{stage}.{block}.se"] = (1 - strength / 2) * noise + strength / 2 * signal[:, :channels]
    report = specificity_report(excitations, labels)
    assert not report.too_small and report.caveat == ""
    assert report.ranking()[:2] == ["layer4", "layer3"]
    assert not report.stages["layer1"].above_chance and not report.stages["layer2"].above_chance
    assert report.stages["layer4"].low > report.stages["layer1"].high
    assert report.summary().startswith("layer4 is the most class-specific stage")
