"""The production scorer: frozen transformer encoder + calibrated linear heads + occlusion evidence.

``load_scorer(settings)`` builds it once per worker; ``score(batch)`` is synchronous and CPU/GPU bound
(call it off the event loop). Shape: ``preprocess`` (clean text) -> ``forward`` (encoder, batched,
``torch.inference_mode``) -> ``postprocess`` (heads, calibration, thresholds) -> ``explain``
(occlusion evidence in pooled space, for positive decisions only; no extra network pass).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from models.base import BINARY_TASKS, Scorer, Utterance, UtteranceScore
from models.heads import Heads, decide, default_heads_path

if TYPE_CHECKING:
    from models.encoder import Encoder, TokenStates
    from streams.config import Settings

log = logging.getLogger(__name__)

#: Most word windows occluded per utterance when explaining (bounds the cost of an explanation).
MAX_OCCLUSIONS = 48
#: Phrases returned per task.
MAX_PHRASES = 3
#: Tokens that neighbouring windows of a long text share, so that a phrase cut by one window's end is
#: whole in the next (see :func:`text_windows`).
WINDOW_OVERLAP = 32
#: Most windows scored per text: 32 windows of 126 tokens cover ~3,000 tokens, more than an English or Dutch
#: text of the worker's largest accepted size (``IMON_MAX_TEXT_BYTES``, 8 KB: ~2,000 tokens); anything beyond
#: (text of digits or symbols, at about one token per character) is not scored.
MAX_WINDOWS = 32
_WS = re.compile(r"\s+")
_STRIP = " ,.;:!?\"'()[]"


def _word_start(words: Sequence[int | None], k: int, floor: int) -> int:
    """Token ``k`` moved back (not below ``floor``) to the first token of its word."""
    while k > floor and words[k] is not None and words[k] == words[k - 1]:
        k -= 1
    return k


def text_windows(tokenizer: Any, texts: Sequence[str], max_tokens: int,
                 overlap: int = WINDOW_OVERLAP, max_windows: int = MAX_WINDOWS) -> list[list[tuple[int, int]]]:
    """Per text, the character spans [start, end) it is scored in: the whole text when its tokens fit in
    ``max_tokens`` (the encoder's length less [CLS] and [SEP]), else overlapping windows of at most
    ``max_tokens`` tokens that start and end on word boundaries.

    The encoder reads at most 128 tokens (~90 English words): a request for a person at the end of a long
    email would otherwise never reach it. The first window starts at character 0, so its token offsets are
    the text's own. A text of at most ``max_tokens`` characters cannot have more tokens than that (every
    token covers a character), so only longer texts are tokenized here.
    """
    out: list[list[tuple[int, int]]] = [[(0, len(t))] for t in texts]
    longer = [i for i, t in enumerate(texts) if len(t) > max_tokens]
    if not longer:
        return out
    enc = tokenizer([texts[i] for i in longer], add_special_tokens=False, truncation=False,
                    return_offsets_mapping=True, verbose=False)
    for j, i in enumerate(longer):
        offs, words = enc["offset_mapping"][j], enc.word_ids(j)
        n = len(offs)
        if n <= max_tokens:
            continue
        spans: list[tuple[int, int]] = []
        start = 0
        while len(spans) < max_windows:
            end = min(start + max_tokens, n)
            if end < n:  # end on a word boundary unless that would leave the window less than half full: a
                # word that long (text without spaces, for a tokenizer whose words are space-separated) is cut
                boundary = _word_start(words, end, start + 1)
                end = boundary if boundary > start + max_tokens // 2 else end
            a, b = (int(offs[start][0]) if spans else 0), int(offs[end - 1][1])
            text = texts[i]
            while b > a + 1 and text[b - 1].isspace():  # a tokenizer that keeps a space as a token
                b -= 1  # (multilingual-e5-small's trailing "▁") ends the window on it: end on the word
            while a < b - 1 and text[a].isspace():
                a += 1
            spans.append((a, b))
            if end >= n:
                break
            nxt = max(end - overlap, start + 1)  # likewise the next start, unless that would double the overlap
            boundary = _word_start(words, nxt, start + 1)
            start = boundary if boundary >= nxt - overlap else nxt
        out[i] = spans
    return out


class HeadsEncoderMismatchError(RuntimeError):
    """The heads were trained on a different encoder than the one configured."""


def _windows(n_words: int) -> list[tuple[int, int]]:
    """Word windows [start, end) to occlude: single words and pairs for short texts, wider windows with
    50 % overlap for long ones, at most :data:`MAX_OCCLUSIONS`."""
    if n_words <= 0:
        return []
    if 2 * n_words - 1 <= MAX_OCCLUSIONS:
        return [(i, i + 1) for i in range(n_words)] + [(i, i + 2) for i in range(n_words - 1)]
    stride = -(-n_words // MAX_OCCLUSIONS)  # ceil: at most MAX_OCCLUSIONS windows, which cover the whole text
    size = 2 * stride
    return [(s, min(s + size, n_words)) for s in range(0, n_words, stride)]


def _pick(drops: np.ndarray, wins: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Up to MAX_PHRASES non-overlapping windows with the largest positive drop, merged when adjacent."""
    chosen: list[tuple[int, int]] = []
    for k in np.argsort(-drops, kind="stable"):
        if drops[k] <= 0:
            break
        a, b = wins[int(k)]
        if any(a < cb and ca < b for ca, cb in chosen):
            continue
        chosen.append((a, b))
        if len(chosen) == MAX_PHRASES:
            break
    merged: list[list[int]] = []
    for a, b in sorted(chosen):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


#: Tasks that take a long text's highest window: a request for a person or a report of unfair treatment is one
#: statement that can stand anywhere in it. Sentiment and escalation are about the turn as a whole and keep the
#: truncated view (the first window's embedding, the whole text's n-grams): with the highest window,
#: escalation's false alarms on real complaint text grew faster than its late finds (docs/experiments/rule_9.md
#: to rule_11.md).
WINDOW_MAX_TASKS = ("human_requested", "unfair_treatment")


def first_windows(owner: Sequence[int], n: int) -> np.ndarray:
    """Row of each utterance's first window (``owner``: the utterance of each row, consecutive, first window first)."""
    return np.searchsorted(np.asarray(owner), np.arange(n))


def merge_windows(view: dict[str, np.ndarray], probs: dict[str, np.ndarray], owner: Sequence[int]) -> dict[str, np.ndarray]:
    """Per-utterance probabilities for texts scored in windows: ``view`` = each utterance's truncated view
    (first window's embedding, whole text's n-grams), ``probs`` = each window's own (rows by ``owner``).
    :data:`WINDOW_MAX_TASKS` take the highest of the view and the windows; the other tasks keep the view."""
    idx = np.asarray(owner)
    out = dict(view)
    for t in WINDOW_MAX_TASKS:
        m = view[t].copy()
        np.maximum.at(m, idx, probs[t])
        out[t] = m
    return out


def explain(
    texts: Sequence[str],
    tasks_per_text: Sequence[Sequence[str]],
    tokens: Sequence[TokenStates | None],
    heads: Heads,
) -> list[dict[str, list[str]]]:
    """Occlusion evidence in pooled space: for each text and each task asked for, the word windows
    whose removal most lowers that task's decision value (binary logit, or negative-sentiment margin).

    Removing a window = dropping its tokens' contextual vectors from the mean pool and re-normalising,
    then re-applying the head. It re-uses the forward pass already done (no extra network call), so an
    explanation costs microseconds; the words' influence on their neighbours' contextual vectors stays
    (a faithful explanation of the head, an approximation of re-encoding the shortened text). With a
    lexical channel the same window is also cut out of the text and the channel re-applied to it (its
    n-grams are local, so that part is exact), and the fused decision value is what is ranked.
    """
    out: list[dict[str, list[str]]] = [{} for _ in texts]
    # per text to explain: index, pooled vectors (full, then each window out), windows, and each word's chars
    todo: list[tuple[int, np.ndarray, list[tuple[int, int]], list[tuple[int, int]]]] = []
    for i, tasks in enumerate(tasks_per_text):
        ts = tokens[i]
        if not tasks or ts is None:
            continue
        H = ts.hidden
        word_tokens: dict[int, list[int]] = {}
        for k, w in enumerate(ts.word_ids):
            if w is not None:
                word_tokens.setdefault(w, []).append(k)
        words = sorted(word_tokens)
        if not words:
            for task in tasks:
                out[i][task] = []
            continue
        wins = _windows(len(words))
        total, n = H.sum(0), H.shape[0]
        V = np.empty((len(wins) + 1, H.shape[1]), np.float32)
        V[0] = total / n
        for j, (a, b) in enumerate(wins, start=1):
            ks = [k for w in words[a:b] for k in word_tokens[w]]
            V[j] = (total - H[ks].sum(0)) / max(n - len(ks), 1)
        V /= np.maximum(np.linalg.norm(V, axis=1, keepdims=True), 1e-9)
        chars = [(int(ts.offsets[word_tokens[w][0]][0]), int(ts.offsets[word_tokens[w][-1]][1])) for w in words]
        todo.append((i, V, wins, chars))
    lexical: list[np.ndarray | None] = [None] * len(todo)
    if heads.lexical is not None and todo:  # one hashing pass for every shortened text of the batch
        lexical = list(heads.lexical.logits_without(
            [(texts[i], [(chars[a][0], chars[b - 1][1]) for a, b in wins]) for i, _, wins, chars in todo]))
    for (i, V, wins, chars), zl in zip(todo, lexical, strict=True):
        for task in tasks_per_text[i]:
            dv = heads.decision_value(task, V, zl)
            phrases = []
            for a, b in _pick(dv[0] - dv[1:], wins):
                if p := texts[i][chars[a][0]:chars[b - 1][1]].strip(_STRIP):
                    phrases.append(p)
            out[i][task] = phrases
    return out


class TransformerScorer(Scorer):
    """The encoder (multilingual-e5-small with its LoRA adapter, or any local HF encoder) + heads from
    ``models/artifacts``.

    ``batch_size`` is the most texts per encoder pass: a scored batch is length-sorted and cut into
    passes of this size, so short texts are not padded to the longest one. Measured on 2 cores with
    batches of 64 simulated utterances: 32 per pass ~140 utt/s, 64 per pass ~106 utt/s.
    """

    def __init__(
        self,
        encoder: Encoder,
        heads: Heads,
        batch_size: int = 32,
        with_evidence: bool = True,
        small_batch: tuple[int, int] = (0, 0),
    ) -> None:
        """``small_batch``: (most utterances, threads): batches of at most that many utterances run with
        that many encoder threads, larger ones with the threads the encoder was loaded with; (0, 0) = off."""
        self.enc = encoder
        self.small_batch_size, self.small_batch_threads = small_batch
        self.large_batch_threads = encoder.threads()
        self.heads = heads
        self.batch_size = batch_size
        self.with_evidence = with_evidence
        self.name = str(heads.meta.get("name", "imon-heads"))
        self.version = str(heads.meta.get("version", "0"))
        self.encoder = str(heads.meta.get("encoder", {}).get("name", encoder.name))
        # the int8 backend is the heads' own encoder quantized (same fingerprint): say which runtime runs it
        # in the label (imon_model_info{encoder}, the audit trail's model record)
        backend = getattr(encoder, "backend", "torch")
        if backend != "torch":
            self.encoder += f"+{backend}"

    @property
    def thresholds(self) -> dict[str, float]:
        return dict(self.heads.thresholds)

    # --- pipeline stages ------------------------------------------------------------------------

    @staticmethod
    def preprocess(batch: Sequence[Utterance]) -> list[str]:
        return [_WS.sub(" ", u.text).strip() for u in batch]

    def forward(self, texts: list[str]) -> tuple[np.ndarray, list[TokenStates]]:
        """Pooled embeddings and the token states they came from (kept for evidence)."""
        return self.enc.encode_with_tokens(texts, batch_size=self.batch_size)

    def windows(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        """Each text's character spans as the encoder reads them (:func:`text_windows`): one span for
        a text that fits, overlapping windows for a longer one."""
        return text_windows(self.enc.tokenizer, texts, self.enc.max_length - 2)

    def postprocess(
        self, emb: np.ndarray, batch: Sequence[Utterance], texts: Sequence[str] | None = None,
        pieces: Sequence[str] | None = None, owner: Sequence[int] | None = None,
    ) -> tuple[dict[str, np.ndarray], list[dict[str, Any]]]:
        """``texts``: ``preprocess(batch)`` when the caller has it already (the lexical channel reads them).
        When some texts were encoded in windows, ``emb`` has one row per window: ``pieces`` are the windows'
        texts and ``owner`` the utterance of each (:meth:`windows`, :func:`merge_windows`)."""
        texts = self.preprocess(batch) if texts is None else texts
        if pieces is None or owner is None or len(owner) == len(batch):
            probs = self.heads.predict(emb, texts)
        else:
            view = self.heads.predict(emb[first_windows(owner, len(batch))], texts)
            probs = merge_windows(view, self.heads.predict(emb, pieces), owner)
        labels = decide(probs, self.heads.thresholds, [u.speaker for u in batch], self.heads.sentiment_divisor)
        return probs, labels

    def score(self, batch: Sequence[Utterance]) -> list[UtteranceScore]:
        if not batch:
            return []
        if self.small_batch_threads:
            small = len(batch) <= self.small_batch_size
            self.enc.use_threads(self.small_batch_threads if small else self.large_batch_threads)
        texts = self.preprocess(batch)
        spans = self.windows(texts)
        owner = [i for i, sp in enumerate(spans) for _ in sp]
        pieces = texts if len(owner) == len(texts) else [texts[i][a:b] for i, sp in enumerate(spans) for a, b in sp]
        emb, tokens = self.forward(pieces)
        probs, labels = self.postprocess(emb, batch, texts, pieces, owner)
        evidence: list[dict[str, list[str]]] = [{} for _ in batch]
        if self.with_evidence:
            wanted = [
                [t for t in BINARY_TASKS if lab[t]] + (["sentiment"] if lab["sentiment"] == "negative" else [])
                for lab in labels
            ]
            if any(wanted) and len(pieces) == len(texts):
                evidence = explain(texts, wanted, tokens, self.heads)
            elif any(wanted):
                evidence = self._explain_windows(texts, wanted, emb, pieces, tokens, owner)
        out = []
        for i, lab in enumerate(labels):
            s = probs["sentiment"][i].astype(np.float64)
            s = s / s.sum()
            out.append(
                UtteranceScore(
                    sentiment={"negative": float(s[0]), "neutral": float(s[1]), "positive": float(s[2])},
                    escalation=float(probs["escalation"][i]),
                    human_requested=float(probs["human_requested"][i]),
                    unfair_treatment=float(probs["unfair_treatment"][i]),
                    labels=lab,
                    evidence=evidence[i],
                )
            )
        return out

    def _explain_windows(self, texts: Sequence[str], wanted: Sequence[Sequence[str]], emb: np.ndarray,
                         pieces: Sequence[str], tokens: Sequence[TokenStates], owner: Sequence[int]) -> list[dict[str, list[str]]]:
        """Evidence where some texts were encoded in windows: each task from where its score came
        (:func:`merge_windows`): the truncated view (first window's tokens, whole text; its offsets are the
        text's, as the first window starts it) or, for :data:`WINDOW_MAX_TASKS`, the window that scored
        higher than that view."""
        first = first_windows(owner, len(texts))
        owners = np.asarray(owner)
        from_window: list[list[str]] = [[] for _ in pieces]
        from_view: list[list[str]] = [list(w) for w in wanted]
        tasks = [t for t in WINDOW_MAX_TASKS if any(t in w for w in wanted)]
        lex = self.heads.lexical is not None and bool(tasks)
        zl = self.heads.lexical_logits(pieces, len(pieces)) if lex else None
        zv = self.heads.lexical_logits(texts, len(texts)) if lex else None
        for task in tasks:
            dw = self.heads.decision_value(task, emb, zl)
            dv = self.heads.decision_value(task, emb[first], zv)
            for i, w in enumerate(wanted):
                rows = np.flatnonzero(owners == i)
                if task in w and len(rows) > 1 and dw[rows].max() > dv[i]:
                    from_view[i].remove(task)
                    from_window[int(rows[np.argmax(dw[rows])])].append(task)
        out = explain(texts, from_view, [tokens[int(k)] for k in first], self.heads)
        for k, ev in enumerate(explain(pieces, from_window, tokens, self.heads)):
            out[owner[k]].update(ev)
        return out

    def warmup(self) -> None:
        # two sizes so both the single-utterance and the batched code paths are initialised
        self.score([Utterance(text="hello, I need help with my bill")])
        self.score([Utterance(text="I want to speak to a manager right now, this is the third time!")] * 4)


def _single_thread_blas() -> None:
    """Limit numpy's BLAS (OpenBLAS) to one thread, process-wide.

    The heads' matmuls are tiny, but OpenBLAS worker threads busy-wait after each call and steal the
    cores torch needs: measured here, ``score`` at batch 1 ran at ~17 utt/s with 2 BLAS threads and
    ~75 utt/s with 1 (raw encoder ~80). torch's own thread pool is not affected.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # scikit-learn brings it; without it we are only slower
        log.warning("threadpoolctl missing: numpy BLAS threads may slow the encoder down")
        return
    threadpool_limits(limits=1, user_api="blas")


def load_scorer(settings: Settings) -> Scorer:
    """Load encoder (``settings.encoder_dir`` or the default multilingual-e5-small) and heads
    (``settings.heads_path`` or ``models/artifacts/heads.npz``) on ``settings.device``.

    Raises :class:`HeadsEncoderMismatchError` when the heads were trained on another encoder. With
    ``settings.encoder_backend`` = ``onnx-int8`` the encoder runs in ONNX Runtime (int8) and
    :class:`models.onnx_encoder.OnnxEncoderMissingError` says how to build it when it is missing.
    With ``settings.fast_path`` it returns :class:`models.cascade.CascadeScorer` over that scorer, and raises
    :class:`models.fastpath.FastPathMissingError` when the fast path is not built (``imon train --fast-path``).
    """
    from models.encoder import load_encoder

    if settings.fast_path:  # fail before loading the encoder when the fast path is missing
        from models.fastpath import check_fastpath_dir

        check_fastpath_dir(settings.fast_path_dir)
    if settings.encoder_backend == "onnx-int8":  # likewise when the int8 encoder is not built
        from models.onnx_encoder import check_onnx_dir

        check_onnx_dir(settings.onnx_dir)
    _single_thread_blas()
    heads_path = Path(settings.heads_path) if settings.heads_path else default_heads_path()
    if settings.encoder_backend == "onnx-int8" and not settings.heads_path:
        from models.onnx_encoder import onnx_heads_path

        if onnx_heads_path(settings.onnx_dir).is_file():  # refitted on int8 embeddings: use them
            heads_path = onnx_heads_path(settings.onnx_dir)
    heads = Heads.load(heads_path)
    enc = load_encoder(settings.encoder_dir, device=settings.device, threads=settings.torch_threads,
                       backend=settings.encoder_backend, onnx_dir=settings.onnx_dir,
                       adapter=settings.encoder_adapter, dtype=settings.encoder_dtype)
    # With onnx-int8 the fingerprint is the source encoder's (the int8 model is it, quantized), so heads
    # trained on the float encoder pass; the accuracy cost is measured by `imon evaluate --onnx`.
    trained_on = heads.meta.get("encoder", {}).get("backend", "torch")
    if trained_on != enc.backend:  # works, at an accuracy cost (models/MODEL_CARD.md, "ONNX int8")
        log.warning("heads %s were fitted on %s embeddings but the encoder runs %s; `IMON_ENCODER_BACKEND=%s "
                    "imon train` fits heads for it", heads_path, trained_on, enc.backend, enc.backend)
    want = heads.meta.get("encoder", {}).get("fingerprint")
    if want and want != enc.fingerprint:
        raise HeadsEncoderMismatchError(
            f"heads {heads_path} were trained on encoder {want}, but {enc.path} "
            f"(adapter {getattr(enc, 'adapter', None) and enc.adapter.sha256[:12]}, IMON_ENCODER_ADAPTER="
            f"{settings.encoder_adapter}) is {enc.fingerprint}; run `imon train` for this encoder or point "
            "IMON_HEADS_PATH at matching heads"
        )
    if enc.dim != heads.dim:
        raise HeadsEncoderMismatchError(f"encoder dim {enc.dim} != heads dim {heads.dim}")
    log.info("scorer %s %s on %s (%s, %s)", heads.meta.get("name"), heads.meta.get("version"), enc.path,
             enc.backend, settings.device if enc.backend == "torch" else "cpu")
    scorer = TransformerScorer(enc, heads, small_batch=(settings.batch_small_size, settings.torch_threads_small_batch))
    if settings.fast_path:
        from models.cascade import load_cascade

        return load_cascade(settings.fast_path_dir, scorer)
    return scorer
