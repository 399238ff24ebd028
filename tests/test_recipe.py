"""Recipe loading: defaults, round trip, and errors that name the key, the value and what is allowed."""

import pytest

from corpus_tools.recipe import Recipe, RecipeError, load_recipe, recipe_from_dict


def write(tmp_path, text):
    p = tmp_path / "webtext.toml"
    p.write_text(text)
    return p


def test_defaults_fill_every_section():
    r = load_recipe(None)
    assert r.links.min_karma == 3
    assert r.bloom.n == 8 and r.bloom.fpr == 1e-8
    assert r.dedup.threshold == 0.8


def test_partial_file_keeps_other_defaults(tmp_path):
    r = load_recipe(write(tmp_path, "[links]\nmin_karma = 5\n[run]\nseed = 7\n"))
    assert r.links.min_karma == 5 and r.run.seed == 7
    assert r.links.keep_nsfw is False  # untouched default


def test_resolved_toml_round_trips(tmp_path):
    r = load_recipe(write(tmp_path, "[filter]\nlanguages = ['en', 'de']\n"))
    again = load_recipe(write(tmp_path, r.to_toml()))
    assert again == r
    assert "[filter]" in r.to_toml() and 'languages = [\n    "en",\n    "de",\n]' in r.to_toml()


def test_int_accepted_where_float_expected(tmp_path):
    r = load_recipe(write(tmp_path, "[dedup]\nthreshold = 1\n"))
    assert r.dedup.threshold == 1.0 and isinstance(r.dedup.threshold, float)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[links]\nmin_karam = 3\n", ["[links] min_karam", "3", "allowed keys", "min_karma"]),
        ("[linkz]\nmin_karma = 3\n", ["unknown section [linkz]", "links"]),
        ("[links]\nmin_karma = 'three'\n", ["[links] min_karma", "'three'", "expected integer"]),
        ("[links]\nkeep_nsfw = 1\n", ["[links] keep_nsfw", "1", "true/false"]),
        ("[dedup]\nthreshold = 1.5\n", ["[dedup] threshold", "1.5", "<= 1.0"]),
        ("[run]\nnum_shards = 0\n", ["[run] num_shards", "0", ">= 1"]),
        ("[extract]\nfavor = 'fast'\n", ["[extract] favor", "'fast'", "'precision'", "'balanced'", "'recall'"]),
        ("[filter]\nlanguages = 'en'\n", ["[filter] languages", "list of string"]),
        ("[filter]\nlanguages = ['en', 3]\n", ["[filter] languages[1]", "3", "string"]),
        ("[links]\nmin_karma = 99999999999999999999\n", ["[links] min_karma", "64-bit integer range"]),
        # a label lid.176 never gives removed every document, exit 0 (NeMo Curator writes EN)
        ("[filter]\nlanguages = ['en', 'EN']\n", ["[filter] languages = 'EN'", "not a lid.176 language label",
                                                  "did you mean 'en'?"]),
        ("[filter]\nlanguages = ['zh-CN']\n", ["'zh-CN'", "did you mean 'zh'?"]),
        ("[filter]\nlanguages = ['english']\n", ["'english'", "lower-case codes such as en"]),
        # a short list silently dropped the 3- and 4-gram checks; a long one was cut
        ("[filter]\ngopher_top_ngram_max = [0.2]\n", ["[filter] gopher_top_ngram_max = [0.2]", "exactly 3 values"]),
        ("[filter]\ngopher_dup_ngram_max = [0.15, 0.14, 0.13, 0.12, 0.11, 0.10, 0.09]\n",
         ["[filter] gopher_dup_ngram_max", "exactly 6 values"]),
        # refused when the recipe is read, not 90 lines deep in the fetch pipeline
        ("[fetch]\nallow_networks = ['127.0.0.0/8', 'notacidr']\n",
         ["[fetch] allow_networks", "'notacidr'", "not a CIDR network"]),
    ],
)
def test_errors_name_key_value_and_allowed(tmp_path, text, expected):
    with pytest.raises(RecipeError) as e:
        load_recipe(write(tmp_path, text))
    for piece in expected:
        assert piece in str(e.value)


def test_not_toml_and_missing_file(tmp_path):
    with pytest.raises(RecipeError, match="not valid TOML"):
        load_recipe(write(tmp_path, "[links\n"))
    with pytest.raises(RecipeError, match="not found"):
        load_recipe(tmp_path / "nope.toml")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"[links]\nmin_karma = 3\n# \xff\xfe\n")
    with pytest.raises(RecipeError, match=r"binary.toml: not valid TOML: not UTF-8 text \(line 3\)"):
        load_recipe(binary)
    with pytest.raises(RecipeError, match="a folder, not a recipe file"):
        load_recipe(tmp_path)


def test_replace_validates():
    r = Recipe()
    assert r.replace({"links": {"min_karma": 10}}).links.min_karma == 10
    with pytest.raises(RecipeError):
        r.replace({"links": {"min_karma": "x"}})
    with pytest.raises(RecipeError):
        recipe_from_dict({"links": 3})


def test_a_bad_allow_network_flag_is_named_as_the_flag(tmp_path, capsys):
    from pipelines.webtext import main

    assert main(["fetch", "--out", str(tmp_path / "run"), "--input", str(tmp_path / "urls.txt"),
                 "--allow-network", "127.0.0.0/8", "--allow-network", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("webtext fetch: error: --allow-network nope: not a CIDR network: 'nope'"), err
    assert len(err.splitlines()) == 1 and not (tmp_path / "run").exists()


# --------------------------------------------------------------------------- cross-checks
def _fields():
    import dataclasses
    import typing

    hints = typing.get_type_hints(Recipe)
    for sec in dataclasses.fields(Recipe):
        cls = hints[sec.name]
        yield sec.name, cls, {f.name: f for f in dataclasses.fields(cls)}


def _declared_pairs():
    return [(sec, f.name, f.metadata["at_most"]) for sec, _, fields in _fields() for f in fields.values()
            if f.metadata.get("at_most")]


def test_every_min_max_pair_by_name_is_declared():
    """Found by name, not listed by hand: each key with a `min` word whose `max` twin exists in its
    section declares it (a new pair cannot be forgotten), and each declared pair names a real key."""
    named = set()
    for sec, _, fields in _fields():
        for name in fields:
            words = name.split("_")
            if "min" in words:
                twin = "_".join("max" if w == "min" else w for w in words)
                if twin in fields:
                    named.add((sec, name, twin))
    declared = set(_declared_pairs())
    assert named == {("filter", "gopher_min_words", "gopher_max_words"),
                     ("filter", "gopher_min_mean_word_length", "gopher_max_mean_word_length"),
                     ("contamination", "dirty_min", "dirty_max")}
    assert named <= declared
    # the pairs named otherwise: the first retry's wait and the longest wait, the end and the peak rate
    assert declared - named == {("fetch", "backoff_s", "backoff_max_s"), ("train", "min_lr", "lr")}
    hints = {sec: (cls, fields) for sec, cls, fields in _fields()}
    for sec, low, high in declared:
        cls, fields = hints[sec]
        assert high in fields and fields[low].type == fields[high].type, (sec, low, high)


@pytest.mark.parametrize("section, low, high", _declared_pairs())
def test_a_min_above_its_max_is_refused_naming_both(tmp_path, section, low, high):
    default_high = getattr(Recipe().section(section), high)
    bigger = default_high * 2 if default_high else 1
    if isinstance(default_high, int):
        bigger = int(bigger)
    # above the default max: refused, though the recipe does not set the max
    with pytest.raises(RecipeError) as e:
        load_recipe(write(tmp_path, f"[{section}]\n{low} = {bigger!r}\n"))
    msg = str(e.value)
    assert f"[{section}] {low} = {bigger!r}: must be <= [{section}] {high} = {default_high!r}" in msg
    assert len(msg.splitlines()) == 1
    # both set, the max below the min
    with pytest.raises(RecipeError, match=rf"\[{section}\] {low} = .*\[{section}\] {high} = "):
        load_recipe(write(tmp_path, f"[{section}]\n{low} = {bigger!r}\n{high} = {default_high!r}\n"))
    # equal ends are a valid (narrow) range; raising the max makes room
    assert getattr(load_recipe(write(tmp_path, f"[{section}]\n{low} = {default_high!r}\n")).section(section), low) \
        == default_high
    r = load_recipe(write(tmp_path, f"[{section}]\n{low} = {bigger!r}\n{high} = {bigger!r}\n"))
    assert getattr(r.section(section), low) == bigger
    with pytest.raises(RecipeError, match=f"{low}"):
        Recipe().replace({section: {low: bigger}})


def test_the_mean_word_length_pair_the_way_a_user_meets_it(tmp_path):
    with pytest.raises(RecipeError) as e:
        load_recipe(write(tmp_path, "[filter]\ngopher_min_mean_word_length = 12\n"))
    assert str(e.value) == (f"{tmp_path / 'webtext.toml'}: [filter] gopher_min_mean_word_length = 12.0: "
                            "must be <= [filter] gopher_max_mean_word_length = 10.0")


def test_a_pair_is_checked_against_the_recorded_recipe_not_the_defaults(tmp_path):
    """With a run's recorded recipe as the base, a file that sets one end is checked against the
    recorded other end: raising the min to below a recorded larger max is fine, above it is not."""
    base = Recipe().replace({"filter": {"gopher_max_words": 500_000}})
    r = load_recipe(write(tmp_path, "[filter]\ngopher_min_words = 200000\n"), base=base)
    assert (r.filter.gopher_min_words, r.filter.gopher_max_words) == (200_000, 500_000)
    with pytest.raises(RecipeError, match=r"gopher_min_words = 600000: must be <= \[filter\] gopher_max_words = 500000"):
        load_recipe(write(tmp_path, "[filter]\ngopher_min_words = 600000\n"), base=base)


@pytest.mark.parametrize("text, expected", [
    ("[filter]\nrules = ['min_length', 'c4', 'gopher_quality', 'c4']\n",
     "[filter] rules = ['min_length', 'c4', 'gopher_quality', 'c4']: 'c4' is listed twice (rules[1] and rules[3]); "
     "list each once"),
    ("[filter]\nlanguages = ['en', 'de', 'en']\n", "[filter] languages = ['en', 'de', 'en']: 'en' is listed twice"),
    ("[links]\nblock_lists = ['media', 'media']\n", "[links] block_lists = ['media', 'media']: 'media' is listed twice"),
    ("[tokenize]\nextra_special_tokens = ['<|pad|>', '<|pad|>']\n", "'<|pad|>' is listed twice"),
    ("[run]\ninputs = ['a.warc.gz', 'a.warc.gz']\n", "[run] inputs = ['a.warc.gz', 'a.warc.gz']: 'a.warc.gz' is listed twice"),
])
def test_a_string_listed_twice_is_refused(tmp_path, text, expected):
    with pytest.raises(RecipeError) as e:
        load_recipe(write(tmp_path, text))
    assert expected in str(e.value) and len(str(e.value).splitlines()) == 1


def test_per_position_numbers_may_repeat(tmp_path):
    r = load_recipe(write(tmp_path, "[filter]\ngopher_top_ngram_max = [0.2, 0.2, 0.2]\n"))
    assert r.filter.gopher_top_ngram_max == [0.2, 0.2, 0.2]
