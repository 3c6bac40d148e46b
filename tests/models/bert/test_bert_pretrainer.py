from tests import synthetic_tasks as tasks
from tests.harness import run_model_test
from tfzoo.models import BertBackbone, BertPretrainer


def test_shared_checks():
    x, _ = tasks.counting_pretraining(4)
    output = run_model_test(
        lambda: BertPretrainer(BertBackbone(**tasks.TINY_BERT)), x
    )
    assert output["mlm_logits"].shape == (4, 3, tasks.VOCABULARY_SIZE)
    assert output["nsp_logits"].shape == (4, 2)


def test_learns_masked_lm_and_next_sentence_together():
    x, y = tasks.counting_pretraining(2048)
    model = BertPretrainer(BertBackbone(**tasks.TINY_BERT))
    model.compile(learning_rate=2e-3)
    model.fit(x, y, batch_size=64, epochs=20, verbose=0)
    test_x, test_y = tasks.counting_pretraining(512, seed=1)
    result = model.evaluate(test_x, test_y, verbose=0, return_dict=True)
    assert result["mlm_accuracy"] > 0.85  # chance is 1/35
    assert result["nsp_accuracy"] > 0.9  # chance is 1/2


def test_pretrained_backbone_is_shared_with_a_classifier():
    from tfzoo.models import BertClassifier

    backbone = BertBackbone(**tasks.TINY_BERT)
    pretrainer = BertPretrainer(backbone)
    classifier = BertClassifier(pretrainer.backbone)
    assert classifier.backbone is backbone
