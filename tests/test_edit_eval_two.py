"""The measure of two-object edits (issue 21 §1): the edit set, the metrics on ground truth (the
ideal edit scores perfectly, an edit that touches the other object is caught) and the measure run
end to end through `edit()` on the tiny random pipeline."""
from __future__ import annotations

import numpy as np

import editing_fixtures as fx
from editing_fixtures import FAST
from minicog import edit_eval, shapes
from minicog.shapes import MovingShape, Scene

# a colour edit that swaps the palette order (red < blue < purple): the motions must follow the objects
SRC2 = "a red circle moving left and a blue square moving down on a black background"
TAR2 = "a purple circle moving left and a blue square moving down on a black background"
pipe = fx.pipe                                           # the shared fixture, registered in this module


def test_two_object_edits_change_one_attribute_of_one_object():
    edits = edit_eval.two_object_edits(8, ("color", "shape"), seed=1)
    assert [e["kind"] for e in edits] == ["color"] * 8 + ["shape"] * 8
    assert edits == edit_eval.two_object_edits(8, ("color", "shape"), seed=1)
    assert [e["source"] for e in edits] != [e["source"] for e in edit_eval.two_object_edits(8, seed=7)]
    for e in edits:
        src, tar = shapes.parse_caption(e["source"]), shapes.parse_caption(e["target"])
        assert len(src.objects) == len(tar.objects) == 2 and src.background == tar.background
        i = [o.color for o in src.objects].index(e["edited"])
        assert src.objects[1 - i] == tar.objects[1 - i] and src.objects[1 - i].color == e["other"]
        # the other object's words are left as they are (same phrase, same place)
        assert e["source"].split(" and ")[1 - i].split(" on a ")[0] == \
            e["target"].split(" and ")[1 - i].split(" on a ")[0]
        a, b = src.objects[i], tar.objects[i]
        changed = [k for k in ("color", "shape", "direction") if getattr(a, k) != getattr(b, k)]
        assert changed == [e["kind"]] and b.color == e["edited_to"]
        if e["kind"] == "color":
            assert b.color not in (o.color for o in src.objects)


def test_ideal_two_object_edit_scores_perfectly_even_when_the_palette_order_changes():
    for source, target, seed in [(SRC2, TAR2, 3), (SRC2, SRC2.replace("circle", "triangle"), 4)]:
        truth = edit_eval.two_object_truth(source, target, seed)
        assert np.array_equal(truth["source"], shapes.render_caption(source, rng=seed))
        assert truth["edited"].color == "red" and truth["other"] == MovingShape("blue", "square", "down")
        # each object keeps its own motion: the other object is where it was
        assert np.array_equal(truth["masks_tar"]["blue"], truth["masks_src"]["blue"])
        m = edit_eval.two_object_metrics(truth["source"], truth["ideal"], truth)
        assert m["success"] and m["other_kept"] and m["exact"], m
        assert m["drift_edited"] == 0.0 and m["drift_other"] == 0.0
        assert m["other_psnr"] == float("inf") and m["bg_psnr"] > 40
        assert np.isnan(m["mask_iou"])                       # no mask given
    # the colour edit's target motions are the source's, reordered with the palette
    truth = edit_eval.two_object_truth(SRC2, TAR2, 3)
    assert truth["target_motions"] == truth["motions"][::-1]
    # and the mask metrics: the true edited object's latent mask is a perfect mask
    obj = truth["masks_src"]["red"] | truth["masks_tar"]["purple"]
    lat = edit_eval.object_latent_mask(obj, (5, 8, 8)).bool()
    mm = edit_eval.mask_metrics(lat, truth)
    assert mm["mask_iou"] == 1.0 and 0 <= mm["mask_other"] < 1   # cells at the 2 px gap can be shared
    assert edit_eval.mask_metrics(np.ones((5, 8, 8), bool), truth)["mask_other"] == 1.0


def test_an_edit_that_touches_the_other_object_is_caught():
    truth = edit_eval.two_object_truth(SRC2, TAR2, 3)
    # the edited object changes as asked, but the other becomes a circle too
    bad = Scene((MovingShape("purple", "circle", "left"), MovingShape("blue", "circle", "down")), "black")
    clip = shapes.render_scene(bad, motions=truth["target_motions"])
    m = edit_eval.two_object_metrics(truth["source"], clip, truth)
    assert m["success"] and not m["other_kept"] and not m["exact"]
    assert m["other_psnr"] < 30
    # no edit at all: the other is kept, the edit failed
    m = edit_eval.two_object_metrics(truth["source"], truth["source"], truth)
    assert not m["success"] and m["other_kept"] and m["other_psnr"] == float("inf")


def test_an_edit_that_leaves_three_objects_is_scored_not_refused():
    # a weak model can leave the old object beside the new one: the oracle reads three objects, which
    # no caption describes; the scorer must still say what it read (and count the edit as failed)
    truth = edit_eval.two_object_truth(SRC2, TAR2, 3)
    third = shapes.render_scene(Scene((MovingShape("yellow", "triangle", "up"),), "black"), rng=11)
    clip = truth["ideal"].copy()
    drawn = (third != third[0, 0, 0]).any(-1)
    clip[drawn] = third[drawn]
    read = shapes.read_scene(clip)
    assert len(read.objects) == 3 and "yellow" in str(read)
    m = edit_eval.two_object_metrics(truth["source"], clip, truth)
    assert not m["exact"] and m["read"].count(" and ") == 2


def test_two_object_measure_runs_through_edit(pipe):
    edits = edit_eval.two_object_edits(1, ("color",), seed=1)
    variants = {"flowedit": ("flowedit", FAST), "flowdirector": ("flowdirector", FAST)}
    rows = edit_eval.measure(pipe, edits, variants, progress=False)
    assert [r["variant"] for r in rows] == ["reconstruction", "flowedit", "flowdirector"]
    rec, fe, fd = rows
    assert np.isnan(rec["success"]) and np.isnan(rec["mask_iou"])
    for r in (fe, fd):
        assert r["seconds"] > 0 and r["nfe"] > 0 and isinstance(r["other_kept"], bool)
        assert r["drift_edited"] >= 0 and r["drift_other"] >= 0 and r["bg_psnr"] > 0
    assert np.isnan(fe["mask_iou"])                          # FlowEdit has no mask
    assert 0 <= fd["mask_iou"] <= 1 and 0 <= fd["mask_other"] <= 1 and 0 <= fd["mask_iou_last"] <= 1
    summary = edit_eval.summarise(rows)
    assert summary["flowdirector"]["mask_iou"] == fd["mask_iou"]
    assert summary["flowedit"]["other_kept"] == float(fe["other_kept"])
    table = edit_eval.results_table(summary, reference="flowedit")
    assert "other kept" in table and "time × flowedit" in table and table.count("\n") == 4
    assert {"flowdirector DAG v2", "flowdirector +DA-FC", "flowdirector +MAD-FC"} <= set(edit_eval.ABLATIONS)
