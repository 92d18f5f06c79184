"""``ganzoo.load`` resolving a source: spelling, the packaged file, the cache, downloads and URLs.

The models come from the toy plugin of tests/toyhub.py: its weights are served by a real HTTP server on
127.0.0.1 (the download path), or sit in a throw-away package (the packaged path).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from toyhub import TOY_CONFIG, cache_files, expected_output, sha256, toy_generator

import ganzoo
from ganzoo.cards.folder import write_generator_weights
from ganzoo.cards.weights import cached_weights_path
from ganzoo.errors import ConfigError, FolderEscapeError, UnknownNameError, WeightsError
from ganzoo.models import parse_source

# ---------------------------------------------------------------------------------------------
# Sources are told apart by spelling


@pytest.mark.parametrize(
    ("source", "kind", "value"),
    [
        ("dcgan-mnist", "name", "dcgan-mnist"),
        ("dcgan-mnist.mnist", "name", "dcgan-mnist.mnist"),
        ("./dcgan-mnist", "path", "./dcgan-mnist"),
        ("runs/mnist/export", "path", "runs/mnist/export"),
        ("~/weights.safetensors", "path", "~/weights.safetensors"),
        (".hidden", "path", ".hidden"),
        ("path:dcgan-mnist", "path", "dcgan-mnist"),
        (Path("dcgan-mnist"), "path", "dcgan-mnist"),
        ("https://example.org/w.safetensors", "url", "https://example.org/w.safetensors"),
        ("file:///tmp/export", "url", "file:///tmp/export"),
    ],
)
def test_source_kind_is_decided_by_spelling(source, kind, value):
    parsed = parse_source(source)
    assert (parsed.kind, parsed.value) == (kind, value)


@pytest.mark.parametrize("source", ["", "   ", "path:", "s3://bucket/w.safetensors", 42])
def test_bad_sources_are_refused(source):
    with pytest.raises(ConfigError):
        parse_source(source)


def test_a_folder_named_like_a_model_never_shadows_it(toy, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ganzoo.save(ganzoo.create("toy-gan", seed=5), "toy-gan")
    by_name = ganzoo.load("toy-gan")
    assert by_name.weights is not None and by_name.weights.tag == "web"
    by_path = ganzoo.load("./toy-gan")
    assert by_path.weights is None and Path(by_path.source) == Path("toy-gan")
    assert not torch.equal(by_name.sample(4, seed=0), by_path.sample(4, seed=0))
    assert torch.equal(by_path.sample(4, seed=0), ganzoo.load("path:toy-gan").sample(4, seed=0))


def test_mlp_gan_folder_in_cwd_does_not_shadow_the_model(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    gan = ganzoo.create("mlp-gan", seed=0)
    ganzoo.save(gan, "mlp-gan", samples=False)
    from_folder = ganzoo.load("./mlp-gan")
    assert from_folder.weights is None
    assert torch.equal(from_folder.sample(3, seed=1), gan.sample(3, seed=1))
    spec = ganzoo.get_model_spec("mlp-gan")
    if spec.weights:
        assert ganzoo.load("mlp-gan").weights == spec.get_weights()
    else:
        with pytest.raises(WeightsError, match="no pretrained weights"):
            ganzoo.load("mlp-gan")


def test_unknown_names_get_suggestions(toy, tmp_path, monkeypatch):
    with pytest.raises(UnknownNameError, match="Did you mean 'toy-gan'"):
        ganzoo.load("toy-gn")
    with pytest.raises(UnknownNameError, match=r"toy-gan\.web"):
        ganzoo.load("toy-gan.wbe")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my-run").mkdir()
    with pytest.raises(UnknownNameError, match=r"load it as './my-run'"):
        ganzoo.load("my-run")


# ---------------------------------------------------------------------------------------------
# Weights resolution: package, cache, download


def test_download_checks_the_hash_and_lands_in_the_cache(toy):
    loaded = ganzoo.load("toy-gan")
    assert toy.server.requests == ["/toy-web.safetensors"]
    cached = cached_weights_path(toy.spec, toy.spec.get_weights("web"))
    assert cached.is_file() and cache_files() == [cached]
    assert loaded.source == str(cached)
    z = loaded.latents(5, seed=0)
    assert torch.equal(loaded.decode(z), expected_output(toy.reference, z))

    again = ganzoo.load("toy-gan.web")  # a cache hit: no second request
    assert toy.server.requests == ["/toy-web.safetensors"]
    assert torch.equal(again.sample(5, seed=0), loaded.sample(5, seed=0))


def test_a_bad_hash_is_an_error_and_the_file_is_not_kept(toy):
    with pytest.raises(WeightsError) as failure:
        ganzoo.load("toy-gan.badhash")
    message = str(failure.value)
    assert "0" * 64 in message and toy.spec.get_weights("web").sha256 in message
    assert "discarded" in message
    assert toy.server.requests == ["/toy-web.safetensors"]
    assert cache_files() == []


def test_cache_dir_option_and_environment(toy, tmp_path, monkeypatch):
    ganzoo.load("toy-gan", cache_dir=tmp_path / "mine")
    assert (tmp_path / "mine" / cached_weights_path(toy.spec, toy.spec.get_weights()).name).is_file()
    monkeypatch.setenv("GANZOO_CACHE_DIR", str(tmp_path / "env"))
    ganzoo.load("toy-gan")
    assert len(list((tmp_path / "env").glob("*.safetensors"))) == 1
    assert len(toy.server.requests) == 2


def test_offline_without_a_cached_file_is_an_error(toy):
    with pytest.raises(WeightsError, match="not packaged and not in the cache"):
        ganzoo.load("toy-gan", download=False)
    assert toy.server.requests == []


def test_a_damaged_cached_file_is_fetched_again(toy):
    cached = cached_weights_path(toy.spec, toy.spec.get_weights())
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"not the weights")
    with pytest.raises(WeightsError, match="fail their sha256 check"):
        ganzoo.load("toy-gan", download=False)
    ganzoo.load("toy-gan")
    assert sha256(cached) == toy.spec.get_weights().sha256
    assert toy.server.requests == ["/toy-web.safetensors"]


def test_a_missing_url_is_a_clear_error(toy):
    with pytest.raises(WeightsError, match="HTTP 404"):
        ganzoo.load("toy-gan.gone")
    assert cache_files() == []


def test_packaged_weights_come_first_and_are_hash_checked(toy):
    loaded = ganzoo.load("toy-gan.packaged")
    assert loaded.source == f"{toy.package}/toy.safetensors"
    assert toy.server.requests == [] and cache_files() == []
    z = loaded.latents(3, seed=4)
    assert torch.equal(loaded.decode(z), expected_output(toy.packaged, z))
    with pytest.raises(WeightsError, match=r"tampered.safetensors has sha256 [0-9a-f]{64} but the registry expects"):
        ganzoo.load("toy-gan.tampered")


def test_a_truncated_file_is_a_clear_error(toy, tmp_path):
    with pytest.raises(WeightsError, match="is not a readable safetensors file"):
        ganzoo.load("toy-gan.truncated")
    data = (toy.server.root / "toy-web.safetensors").read_bytes()
    for name, content in [("short.safetensors", data[:5]), ("cut.safetensors", data[: len(data) // 2]),
                          ("noise.safetensors", b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")]:
        (tmp_path / name).write_bytes(content)
        with pytest.raises(WeightsError, match=rf"{name} is not a readable safetensors file"):
            ganzoo.load(tmp_path / name)


def test_a_truncated_export_folder_is_a_clear_error(tmp_path):
    folder = ganzoo.save(ganzoo.create("dcgan-mnist", width=4, seed=0), tmp_path / "run" / "export", samples=False)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-64])
    with pytest.raises(WeightsError, match=r"model\.safetensors is not a readable safetensors file .*corrupt or trunc"):
        ganzoo.load(tmp_path / "run")


@pytest.mark.parametrize("name", ["model.safetensors", "config.json", "README.md"])
def test_an_export_file_that_links_out_of_its_folder_is_refused_in_one_line(tmp_path, name):
    """A downloaded or unpacked export folder is someone else's: a link in it must not make ganzoo read (and
    later publish or rewrite) a file elsewhere. A link that stays inside the folder is followed."""
    folder = ganzoo.save(ganzoo.create("dcgan-mnist", width=4, seed=0), tmp_path / "export", samples=False)
    outside = tmp_path / "private" / name
    outside.parent.mkdir()
    (folder / name).rename(outside)
    (folder / name).symlink_to(outside)
    with pytest.raises(FolderEscapeError) as failure:
        ganzoo.load(folder).card  # noqa: B018 - the card is read when asked for
    message = str(failure.value)
    assert "\n" not in message and f"{folder / name} is a symbolic link to {outside}" in message
    assert "outside the export folder" in message
    (folder / name).unlink()
    (folder / f"real-{name}").write_bytes(outside.read_bytes())
    (folder / name).symlink_to(f"real-{name}")
    assert ganzoo.load(folder).sample(2, seed=0).shape == (2, 1, 28, 28)


def test_a_file_for_another_configuration_names_the_tensor_and_both_shapes(toy):
    with pytest.raises(WeightsError) as failure:
        ganzoo.load("toy-gan.wide")
    assert "tensor 'generator.net.0.weight' has shape (32, 8)" in str(failure.value)
    assert "model expects (16, 8): the file is for a different configuration" in str(failure.value)


def test_wrong_architecture_for_a_builtin_model(tmp_path):
    folder = ganzoo.save(ganzoo.create("dcgan-mnist", width=8), tmp_path / "w8", samples=False)
    document = json.loads((folder / "config.json").read_text())
    document["config"]["width"] = 4
    (folder / "config.json").write_text(json.dumps(document))
    with safe_open(str(folder / "model.safetensors"), framework="pt") as handle:
        metadata = handle.metadata()
    metadata["config"] = json.dumps(document["config"])  # both records of the export now say width=4
    save_file(load_file(str(folder / "model.safetensors")), str(folder / "model.safetensors"), metadata=metadata)
    with pytest.raises(WeightsError) as failure:
        ganzoo.load(folder)
    message = str(failure.value)
    assert "tensor 'generator.net.0.weight' has shape (100, 32, 4, 4)" in message
    assert "the model expects (100, 16, 4, 4)" in message


def test_missing_and_unexpected_tensors_are_listed(tmp_path):
    gan = ganzoo.create("dcgan-mnist", width=4)
    path = write_generator_weights(tmp_path / "w.safetensors", gan.generator, model="dcgan-mnist",
                                   config=gan.config)
    tensors = load_file(str(path))
    tensors.pop("generator.net.1.weight")
    tensors["generator.extra.bias"] = torch.zeros(3)
    metadata = {"format": "ganzoo", "model": "dcgan-mnist", "config": json.dumps({"width": 4})}
    save_file(tensors, str(tmp_path / "bad.safetensors"), metadata=metadata)
    expected = r"lacks 1 tensors .*'generator\.net\.1\.weight'.* has 1 .*'generator\.extra\.bias'"
    with pytest.raises(WeightsError, match=expected):
        ganzoo.load(tmp_path / "bad.safetensors")


def test_float16_weights_are_upcast(toy, tmp_path):
    write_generator_weights(tmp_path / "half.safetensors", toy.reference, model="toy-gan", config=TOY_CONFIG,
                            dtype=torch.float16)
    assert load_file(str(tmp_path / "half.safetensors"))["generator.net.0.weight"].dtype == torch.float16
    loaded = ganzoo.load(tmp_path / "half.safetensors")
    assert all(p.dtype == torch.float32 for p in loaded.generator.parameters())
    z = loaded.latents(8, seed=0)
    torch.testing.assert_close(loaded.decode(z), expected_output(toy.reference, z), atol=2e-2, rtol=0)


# ---------------------------------------------------------------------------------------------
# URLs


def test_url_sources(toy, tmp_path):
    registered = ganzoo.load(toy.server.url + "/toy-web.safetensors")  # a registry entry's URL: its hash
    assert registered.weights is not None and registered.weights.tag == "web"

    write_generator_weights(toy.server.root / "other.safetensors", toy_generator(seed=9), model="toy-gan",
                            config=TOY_CONFIG)
    digest = sha256(toy.server.root / "other.safetensors")
    url = toy.server.url + "/other.safetensors"
    with pytest.raises(WeightsError, match="was expected; the file was discarded"):
        ganzoo.load(url, sha256="a" * 64)
    loaded = ganzoo.load(f"{url}#sha256={digest}")
    assert loaded.weights is None and loaded.spec.name == "toy-gan"
    requests = len(toy.server.requests)
    ganzoo.load(url, download=False)  # now cached under its URL
    assert len(toy.server.requests) == requests

    folder = ganzoo.save(loaded, tmp_path / "exported", samples=False)
    from_file_url = ganzoo.load(folder.resolve().as_uri())
    assert torch.equal(from_file_url.sample(3, seed=2), loaded.sample(3, seed=2))


def test_a_password_in_a_url_is_never_echoed(server):
    with_password = server.url.replace("http://", "http://user:secret@") + "/weights.safetensors"
    messages = []
    for source, options in ((with_password, {}), (with_password, {"download": False}),
                            ("ftp://user:secret@127.0.0.1/weights.safetensors", {})):
        with pytest.raises((WeightsError, ConfigError)) as caught:
            ganzoo.load(source, **options)
        messages.append(str(caught.value))
    assert all("secret" not in message and "://***@127.0.0.1" in message for message in messages), messages
