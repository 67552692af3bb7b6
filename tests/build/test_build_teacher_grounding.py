"""The grounding filter on the real packaged teacher: grounded answers pass, off-topic ones are dropped."""

from pathlib import Path

import pytest

from shochu.build.candidates import Slot, choose
from shochu.build.filters import FilterReport
from shochu.build.grounding import likelihood_gains
from shochu.build.templates import DEFAULT_TEMPLATES, render
from shochu.config import BuildConfig
from shochu.models import load_model, load_tokenizer, prepare_models

pytestmark = pytest.mark.integration

CHUNK = ("## Calibration\n\nThe TX-210 transmitter is calibrated every 12 months in the Bangkok laboratory. "
         "The technician creates a work order in LIMS, scans the serial number and compares the reading with "
         "the reference thermometer at 0, 25 and 50 °C. A deviation above 0.2 °C fails the unit.")
QUESTION = "How often is the TX-210 transmitter calibrated?"
GROUNDED = "The TX-210 is calibrated every 12 months in the Bangkok laboratory."
# Written like the packaged teacher's off-topic answers seen in trial builds.
OFF_TOPIC = "The origin of the company is a Thai-based multinational that produces medical equipment."


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    folder, _ = prepare_models("packaged:smollm2", None, 8, Path(tmp_path_factory.mktemp("models")))
    return load_model(folder), load_tokenizer(folder)


def _prompts():
    grounded = render(DEFAULT_TEMPLATES["answer"], "en", text=CHUNK, question=QUESTION)
    bare = render(DEFAULT_TEMPLATES["answer"], "en", text="", question=QUESTION)
    return grounded, bare


def test_gain_separates_grounded_from_off_topic(teacher):
    model, tokenizer = teacher
    grounded, bare = _prompts()
    gains = likelihood_gains(model, tokenizer, [[{"role": "user", "content": grounded}]] * 2,
                             [[{"role": "user", "content": bare}]] * 2, [GROUNDED, OFF_TOPIC])
    threshold = BuildConfig().filters.min_likelihood_gain
    assert gains[0] >= threshold
    assert gains[1] < threshold


def test_filters_drop_off_topic_answer(teacher):
    model, tokenizer = teacher
    grounded, bare = _prompts()
    chunk = {"chunk_id": "c", "doc_id": "d", "text": CHUNK}
    slots = [Slot("qa", chunk, "en", grounded, bare, [GROUNDED], QUESTION),
             Slot("qa", chunk, "en", grounded, bare, [OFF_TOPIC], QUESTION)]

    def scorer(with_chunk, without_chunk, responses):
        return likelihood_gains(model, tokenizer, [[{"role": "user", "content": c}] for c in with_chunk],
                                [[{"role": "user", "content": c}] for c in without_chunk], responses)

    report = FilterReport()
    chosen = choose(slots, BuildConfig(), report, scorer)
    assert [item.response for item in chosen] == [GROUNDED]
    assert report.drops["qa"] == {"grounding": {"low_overlap": 1}}
