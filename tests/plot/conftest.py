import warnings

import pytest

pytest.importorskip("matplotlib", reason="deepsheet.plot needs the plot extra (matplotlib)")


@pytest.fixture(autouse=True)
def no_warnings_and_closed_figures():
    """Every figure is drawn without a warning and closed afterwards."""
    from deepsheet.plot import pyplot
    plt = pyplot()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield
    plt.close("all")


@pytest.fixture
def png(tmp_path):
    """save(fig) -> the decoded RGBA pixels of the PNG written (checked non-blank)."""
    from deepsheet.plot import pyplot, save

    def write(fig, name="figure.png"):
        path = save(fig, str(tmp_path / name))
        with open(path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
        pixels = pyplot().imread(path)
        assert pixels.ndim == 3 and pixels.shape[0] > 50 and pixels.shape[1] > 50
        assert pixels[..., :3].std() > 0.02, "the PNG is blank"
        return pixels
    return write
