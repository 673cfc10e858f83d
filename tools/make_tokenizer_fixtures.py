#!/usr/bin/env python3
"""make_tokenizer_fixtures.py - expected outputs of the Hugging Face `tokenizers`
library for braid's C tokenizer tests.

Usage (from the repository root):
    python3 tools/make_tokenizer_fixtures.py            # expected.json from the committed tokenizers
    python3 tools/make_tokenizer_fixtures.py --retrain  # also retrain the synthetic tokenizers

Training is not bit-reproducible (BpeTrainer breaks some frequency ties in hash
order, visible with limit_alphabet), so the synthetic tokenizers are trained
once, committed, and only rebuilt on request or when missing.

It does two things:

1. Trains (with --retrain, or when missing) three small synthetic tokenizers (synth_*.json)
   on tests/data/tokenizer/train_corpus.txt + prose.txt, each exercising
   tokenizer.json features the real published files do not use:
     synth_bytelevel_llama3  Llama-3/GPT-4 style Split regex + ByteLevel(use_regex=False),
                             NFKC, ignore_merges, merges as [a, b] pairs, special tokens
                             with lstrip/rstrip, a single_word token, a normalized token,
                             Sequence[ByteLevel, TemplateProcessing] post-processor.
     synth_suffix_unk        BPE with continuing_subword_prefix "##", end_of_word_suffix
                             "</w>", unk without fusing; NFD+StripAccents+Lowercase+Replace+
                             Strip; WhitespaceSplit+Punctuation+Digits(individual);
                             BertProcessing; BPEDecoder.
     synth_metaspace_fallback Metaspace(always, split) after Split(MergedWithNext) and
                             Punctuation(Contiguous); byte_fallback + fused unk; NFKC +
                             Replace(regex); RobertaProcessing; Metaspace/ByteFallback/Fuse
                             decoders.
2. Runs the library over every tokenizer (real + synthetic) and every test
   string (tests/data/tokenizer/strings.json + prose.txt) and writes ids with
   and without special tokens, decoded text with and without skipping special
   tokens, some id lists decoded directly, and pre-tokenizer / normalizer probes
   to tests/data/tokenizer/expected.json.
"""
import argparse
import json
import os
import random
import sys

import tokenizers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import BPE
from tokenizers.trainers import BpeTrainer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data", "tokenizer")

LLAMA3_PAT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
              r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
GPT4O_PAT = (r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|"
             r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|"
             r"\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")

REAL = [
    ("mamba-2.8b-hf", "tests/data/real/state-spaces__mamba-2.8b-hf/tokenizer.json"),
    ("gpt-neox-20b", "tests/data/real/EleutherAI__gpt-neox-20b/20B_tokenizer.json"),
    ("llama-2-7b-hf", "tests/data/real/NousResearch__Llama-2-7b-hf/tokenizer.json"),
    ("mistral-7b-v0.1", "tests/data/real/mistralai__Mistral-7B-v0.1/tokenizer.json"),
]
SYNTH = ["synth_bytelevel_llama3", "synth_suffix_unk", "synth_metaspace_fallback"]


def corpus():
    with open(os.path.join(DATA, "train_corpus.txt"), encoding="utf-8") as f:
        a = f.read()
    with open(os.path.join(DATA, "prose.txt"), encoding="utf-8") as f:
        b = f.read()
    return [a, b]


def save(tok, name):
    path = os.path.join(DATA, name + ".json")
    tok.save(path, pretty=False)
    Tokenizer.from_file(path)  # must load back
    return path


def train_bytelevel_llama3():
    tok = Tokenizer(BPE(ignore_merges=True))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_PAT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = BpeTrainer(vocab_size=900, show_progress=False,
                         special_tokens=["<|begin_of_text|>", "<|end_of_text|>"],
                         initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus(), trainer)
    tok.add_special_tokens([AddedToken("<|eot_id|>", lstrip=True, rstrip=True, normalized=False)])
    tok.add_tokens([AddedToken("braid", single_word=True, normalized=False),
                    AddedToken("\ufb01x", normalized=True),  # "ﬁx": matched after NFKC as "fix"
                    AddedToken("  ", normalized=True)])
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A $B:1",
                                      special_tokens=[("<|begin_of_text|>", bos)]),
    ])
    return save(tok, "synth_bytelevel_llama3")


def train_suffix_unk():
    tok = Tokenizer(BPE(unk_token="[UNK]", continuing_subword_prefix="##", end_of_word_suffix="</w>",
                        fuse_unk=False))
    tok.normalizer = normalizers.Sequence([
        normalizers.NFD(), normalizers.StripAccents(), normalizers.Lowercase(),
        normalizers.Replace(Regex("[\u2018\u2019]"), "'"), normalizers.Replace("``", '"'),
        normalizers.Strip(left=True, right=True),
    ])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation(behavior="isolated"),
        pre_tokenizers.Digits(individual_digits=True),
    ])
    tok.decoder = decoders.BPEDecoder(suffix="</w>")
    trainer = BpeTrainer(vocab_size=600, show_progress=False, limit_alphabet=70,
                         special_tokens=["[UNK]", "[CLS]", "[SEP]", "[PAD]",
                                         AddedToken("[MASK]", lstrip=True, normalized=False)],
                         continuing_subword_prefix="##", end_of_word_suffix="</w>")
    tok.train_from_iterator(corpus(), trainer)
    tok.post_processor = processors.BertProcessing(("[SEP]", tok.token_to_id("[SEP]")),
                                                   ("[CLS]", tok.token_to_id("[CLS]")))
    return save(tok, "synth_suffix_unk")


def train_metaspace_fallback():
    tok = Tokenizer(BPE(unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(r"[ \t]+"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"\p{N}"), behavior="merged_with_next"),
        pre_tokenizers.Punctuation(behavior="contiguous"),
        pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True),
    ])
    tok.decoder = decoders.Sequence([decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True),
                                     decoders.ByteFallback(), decoders.Fuse()])
    trainer = BpeTrainer(vocab_size=500, show_progress=False, limit_alphabet=50,
                         special_tokens=["<unk>", "<s>", "</s>"])
    tok.train_from_iterator(corpus(), trainer)
    # Add the 256 byte-fallback tokens after the trained vocabulary (SentencePiece style).
    d = json.loads(tok.to_str())
    vocab = d["model"]["vocab"]
    next_id = max(vocab.values()) + 1
    for b in range(256):
        name = "<0x%02X>" % b
        if name not in vocab:
            vocab[name] = next_id
            next_id += 1
    tok = Tokenizer.from_str(json.dumps(d))
    tok.add_special_tokens([AddedToken("<tool>", rstrip=True, normalized=False),
                            AddedToken("</tool>", lstrip=True, normalized=False)])
    tok.add_tokens([AddedToken("\u2126", normalized=True)])  # OHM SIGN: NFKC makes it Omega
    tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")),
                                                      ("<s>", tok.token_to_id("<s>")))
    return save(tok, "synth_metaspace_fallback")


def inputs():
    with open(os.path.join(DATA, "strings.json"), encoding="utf-8") as f:
        strings = json.load(f)
    with open(os.path.join(DATA, "prose.txt"), encoding="utf-8") as f:
        strings.append(f.read())
    return strings


def byte_ids(tok):
    """Ids of single-byte tokens (byte-level alphabet or <0xXX>), or {} if none."""
    bl = pre_tokenizers.ByteLevel.alphabet()
    # bytes_to_unicode order
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) + \
        list(range(ord("\xae"), ord("\xff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    table = {b: chr(c) for b, c in zip(bs, cs)}
    assert set(table.values()) == set(bl)
    out = {}
    for b in range(256):
        i = tok.token_to_id("<0x%02X>" % b)
        if i is None:
            i = tok.token_to_id(table[b])
        if i is not None:
            out[b] = i
    return out


def decode_cases(tok, vocab_size, rng):
    cases = []
    for _ in range(4):
        cases.append([rng.randrange(vocab_size) for _ in range(40)])
    bids = byte_ids(tok)
    soup = [0xE2, 0x82, 0x41, 0xF0, 0x9F, 0x98, 0x80, 0xC0, 0x80, 0xED, 0xA0, 0x80, 0xFF, 0xF4,
            0x90, 0x80, 0x80, 0xE2, 0x82, 0xAC, 0x20, 0xF0, 0x9F]
    if all(b in bids for b in soup):
        cases.append([bids[b] for b in soup])
        word = tok.encode("hello", add_special_tokens=False).ids
        cases.append(word + [bids[0xE2], bids[0x82]] + word + [bids[0xE2], bids[0x82], bids[0xAC]] +
                     [bids[0x20]] * 3 + [bids[0xF0], bids[0x9F], bids[0x98]])
    specials = [t.content for t in tok.get_added_tokens_decoder().values() if t.special]
    mixed = []
    for i, s in enumerate(specials[:4]):
        mixed += [tok.token_to_id(s)] + tok.encode(" word%d" % i, add_special_tokens=False).ids
    if mixed:
        cases.append(mixed)
    return [{"ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False),
             "decoded_skip": tok.decode(ids, skip_special_tokens=True)} for ids in cases]


def tokenizer_entry(name, rel, strings, rng):
    tok = Tokenizer.from_file(os.path.join(ROOT, rel))
    vocab = tok.get_vocab(with_added_tokens=True)
    vocab_size = max(vocab.values()) + 1
    cases = []
    for s in strings:
        ids = tok.encode(s, add_special_tokens=False).ids
        ids_sp = tok.encode(s, add_special_tokens=True).ids
        cases.append({"ids": ids, "ids_special": ids_sp,
                      "decoded": tok.decode(ids_sp, skip_special_tokens=False),
                      "decoded_skip": tok.decode(ids_sp, skip_special_tokens=True)})
    probe_tokens = sorted(vocab.items(), key=lambda kv: kv[1])
    picks = [probe_tokens[i] for i in sorted({0, 1, 2, len(probe_tokens) // 2, len(probe_tokens) - 1} |
                                              {rng.randrange(len(probe_tokens)) for _ in range(8)})]
    return {"name": name, "path": rel, "vocab_size": vocab_size,
            "tokens": [[t, i, tok.id_to_token(i)] for t, i in picks],
            "cases": cases, "decode_cases": decode_cases(tok, vocab_size, rng)}


def state(component):
    return json.loads(component.__getstate__())


PROBE_TEXTS = [
    "", " ", "Hello world", "  Hello   world  ", "a\tb\nc\r\nd", "It's 2024-07-15, isn't it? 12345!",
    "Café e\u0301 ½ ² Ⅻ ٣ ⓐ a\u200db x_y", "东京 😀👍🏽 \u00a0\u3000\x85 \u180e|", "...!!!??? a--b -- c",
    "ab\nab", "abxxc", "▁already▁replaced", "$5 + 3 = <8> ^ `x` | ~", "‿tie‿ «a» „b“",
]


def pretokenizer_probes():
    cfgs = [
        pre_tokenizers.Whitespace(), pre_tokenizers.WhitespaceSplit(), pre_tokenizers.BertPreTokenizer(),
        pre_tokenizers.Punctuation(), pre_tokenizers.Punctuation("removed"),
        pre_tokenizers.Punctuation("merged_with_previous"), pre_tokenizers.Punctuation("merged_with_next"),
        pre_tokenizers.Punctuation("contiguous"),
        pre_tokenizers.Digits(individual_digits=False), pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.Split(Regex(LLAMA3_PAT), "isolated"), pre_tokenizers.Split(Regex(GPT4O_PAT), "isolated"),
        pre_tokenizers.Split(Regex(r"\s+"), "removed"), pre_tokenizers.Split(Regex(r"\p{L}+"), "removed", invert=True),
        pre_tokenizers.Split(" ", "merged_with_next"), pre_tokenizers.Split("-", "contiguous"),
        pre_tokenizers.Split(Regex(r"x*"), "merged_with_previous"), pre_tokenizers.Split(Regex(r"(?=b)|x"), "merged_with_next"),
        pre_tokenizers.Split(Regex(r"^a|b$|\w+"), "isolated"), pre_tokenizers.Split(Regex(r"\S+"), "isolated"),
        pre_tokenizers.Metaspace(), pre_tokenizers.Metaspace(prepend_scheme="first", split=False),
        pre_tokenizers.Metaspace(prepend_scheme="never", split=True), pre_tokenizers.Metaspace(replacement="_"),
        pre_tokenizers.ByteLevel(add_prefix_space=True), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace(prepend_scheme="first")]),
        pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]),
        pre_tokenizers.CharDelimiterSplit("-"),
    ]
    out = []
    for c in cfgs:
        out.append({"config": state(c), "cases": [
            {"text": t, "pieces": [p for p, _ in c.pre_tokenize_str(t)]} for t in PROBE_TEXTS]})
    return out


def normalizer_probes():
    cfgs = [
        normalizers.NFC(), normalizers.NFD(), normalizers.NFKC(), normalizers.NFKD(), normalizers.Lowercase(),
        normalizers.Strip(), normalizers.Strip(left=True, right=False), normalizers.Strip(left=False, right=True),
        normalizers.Sequence([normalizers.NFD(), normalizers.StripAccents()]), normalizers.StripAccents(),
        normalizers.Replace("a", "AA"), normalizers.Replace(Regex(r"\s+"), "_"), normalizers.Replace(Regex(r"x*"), "-"),
        normalizers.Prepend("\u2581"), normalizers.Sequence([normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")]),
        normalizers.Sequence([]),
        normalizers.BertNormalizer(), normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False,
                                                                strip_accents=False, lowercase=True),
    ]
    texts = PROBE_TEXTS + ["İstanbul ΣΊΣΥΦΟΣ DŽ ǅ ẞ ﬃ ＡＢＣ", "Cafe\u0301 a\u0323\u0302 \u1e9b\u0323 \uac00\u11a8",
                           "\u2126 \u212b \u00c5 \u0344 \u0958"]
    out = []
    for c in cfgs:
        out.append({"config": state(c), "cases": [{"text": t, "normalized": c.normalize_str(t)} for t in texts]})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--retrain", action="store_true", help="retrain the synthetic tokenizers")
    args = ap.parse_args()
    for name, train in (("synth_bytelevel_llama3", train_bytelevel_llama3), ("synth_suffix_unk", train_suffix_unk),
                        ("synth_metaspace_fallback", train_metaspace_fallback)):
        if args.retrain or not os.path.exists(os.path.join(DATA, name + ".json")):
            train()
    rng = random.Random(1234)
    strings = inputs()
    entries = [tokenizer_entry(n, p, strings, rng) for n, p in REAL]
    entries += [tokenizer_entry(n, "tests/data/tokenizer/%s.json" % n, strings, rng) for n in SYNTH]
    expected = {"generator": "tools/make_tokenizer_fixtures.py", "tokenizers_version": tokenizers.__version__,
                "inputs": strings, "tokenizers": entries,
                "pretokenizers": pretokenizer_probes(), "normalizers": normalizer_probes()}
    with open(os.path.join(DATA, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, ensure_ascii=True, separators=(",", ":"))
        f.write("\n")
    for e in entries:
        n = sum(len(c["ids"]) for c in e["cases"])
        print("%-26s vocab %6d  %5d ids" % (e["name"], e["vocab_size"], n), file=sys.stderr)


if __name__ == "__main__":
    main()
