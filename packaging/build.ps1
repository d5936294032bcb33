# Builds the Windows download build from a clean checkout, in its own virtual environment (build\venv):
#   dist\faceswap-live\                               faceswap-live.exe (command line) and faceswap-live-app.exe (window)
#   dist\faceswap-live-VERSION-windows-x64.zip        that folder
# Set FACESWAP_LIVE_MODEL_MIRROR to take the landmark model from a local folder. Linux and macOS: packaging/build.sh.
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..")
$started = Get-Date

function Invoke-Checked {
    & $args[0] $args[1..($args.Count - 1)]
    if ($LASTEXITCODE -ne 0) { throw "$($args -join ' ') failed with exit code $LASTEXITCODE" }
}

$python = if ($env:PYTHON) { $env:PYTHON } else { "python" }
$venvPython = "build\venv\Scripts\python.exe"
if (-not (Test-Path $venvPython)) { Invoke-Checked $python -m venv build\venv }
Invoke-Checked $venvPython -m pip install --quiet --upgrade pip
# A regular (not editable) install: the frozen app gets a clean copy of the package.
Invoke-Checked $venvPython -m pip install --quiet . "pyinstaller>=6.10"
# The headless OpenCV in place of the full one MediaPipe brings (see build.sh).
Invoke-Checked $venvPython -m pip uninstall --quiet --yes opencv-contrib-python
Invoke-Checked $venvPython -m pip install --quiet opencv-python-headless
Invoke-Checked $venvPython -m PyInstaller --noconfirm --clean --log-level WARN `
    --distpath dist --workpath build\pyinstaller packaging\pyinstaller\faceswap-live.spec

$version = & $venvPython -c "import faceswap_live; print(faceswap_live.__version__)"
$archive = "dist\faceswap-live-$version-windows-x64.zip"
Compress-Archive -Path dist\faceswap-live -DestinationPath $archive -Force
$seconds = [int]((Get-Date) - $started).TotalSeconds
Write-Output "Built dist\faceswap-live and $archive in $seconds s"
