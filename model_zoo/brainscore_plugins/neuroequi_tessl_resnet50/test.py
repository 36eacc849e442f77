"""Tests of the Brain-Score plugin 'neuroequi_tessl_resnet50': each model loads, looks at 3 images, returns a sane assembly."""
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from brainscore_core.supported_data_standards.brainio.stimuli import StimulusSet
from brainscore_vision import load_model

from neuroequi.errors import DataUnavailableError

MODELS = ['tessl-barlowtwins-lambda0-resnet50', 'tessl-barlowtwins-lambda0.001-resnet50', 'tessl-barlowtwins-lambda0.1-resnet50', 'tessl-barlowtwins-lambda0.2-resnet50', 'tessl-barlowtwins-lambda0.3-resnet50', 'tessl-barlowtwins-lambda0.4-resnet50', 'tessl-barlowtwins-lambda0.5-resnet50', 'tessl-mmcr-lambda0-resnet50', 'tessl-mmcr-lambda0.001-resnet50', 'tessl-mmcr-lambda0.1-resnet50', 'tessl-mmcr-lambda0.2-resnet50', 'tessl-mmcr-lambda0.3-resnet50', 'tessl-mmcr-lambda0.4-resnet50', 'tessl-mmcr-lambda0.5-resnet50', 'tessl-simclr-lambda0-resnet50', 'tessl-simclr-lambda0.001-resnet50', 'tessl-simclr-lambda0.1-resnet50', 'tessl-simclr-lambda0.2-resnet50', 'tessl-simclr-lambda0.3-resnet50', 'tessl-simclr-lambda0.4-resnet50', 'tessl-simclr-lambda0.5-resnet50']
HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def stimuli(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stimuli")
    rng = np.random.default_rng(0)
    paths = {}
    for i in range(3):
        paths[f"probe{i}"] = folder / f"probe{i}.png"
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(paths[f"probe{i}"])
    stimulus_set = StimulusSet([{"stimulus_id": s, "filename": p.name} for s, p in paths.items()])
    stimulus_set.stimulus_paths = paths
    stimulus_set.identifier = None  # nothing cached
    return stimulus_set


@pytest.mark.parametrize("name", MODELS)
def test_look_at(name, stimuli):
    try:
        model = load_model(name)
    except DataUnavailableError as exc:
        pytest.skip(f"weights not reachable: {exc}")
    assert model.identifier.startswith(name + "-") and len(model.identifier) == len(name) + 9
    region_layer_map = json.loads((HERE / "region_layer_map" / f"{name}.json").read_text())
    for region in ("V4", "IT"):
        model.start_recording(region, [(70, 170)])
        assembly = model.look_at(stimuli, number_of_trials=1)
        assert set(assembly.dims) == {"presentation", "neuroid"}
        assert sorted(assembly["stimulus_id"].values) == ["probe0", "probe1", "probe2"]
        assert set(assembly["region"].values) == {region}
        assert set(assembly["layer"].values) == {region_layer_map[region]}
        values = assembly.transpose("presentation", "neuroid").values
        assert values.shape[1] > 0 and np.isfinite(values).all()
        assert not np.allclose(values[0], values[1]), "different images gave identical activations"
