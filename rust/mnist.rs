//! MNIST in the IDX format of the original distribution (gzipped or plain), for the host
//! tools and tests: strict header checks, allocations bounded by the file, digits as model
//! input in any of the usual layouts, and ASCII art like the RT-Thread examples print.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A failure reading an IDX file.
#[derive(Debug)]
pub enum MnistError {
    /// The file could not be opened or read.
    Io(PathBuf, std::io::Error),
    /// The contents are not a valid IDX file of the expected kind.
    Format(PathBuf, &'static str),
}

impl fmt::Display for MnistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MnistError::Io(p, e) => write!(f, "{}: {e}", p.display()),
            MnistError::Format(p, why) => write!(f, "{}: {why}", p.display()),
        }
    }
}

impl std::error::Error for MnistError {}

/// Images and labels of one MNIST set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MnistSet {
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// Pixels, `len() * rows * cols` bytes, row-major.
    pub images: Vec<u8>,
    /// One label per image.
    pub labels: Vec<u8>,
}

/// Largest file accepted (gzipped input is limited after decompression too).
const MAX_BYTES: u64 = 256 << 20;

fn read_file(path: &Path) -> Result<Vec<u8>, MnistError> {
    let io = |e| MnistError::Io(path.to_path_buf(), e);
    let file = std::fs::File::open(path).map_err(io)?;
    let mut raw = Vec::new();
    file.take(MAX_BYTES).read_to_end(&mut raw).map_err(io)?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(raw.as_slice())
            .take(MAX_BYTES)
            .read_to_end(&mut out)
            .map_err(io)?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

fn be32(b: &[u8], at: usize) -> Option<usize> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(s.try_into().ok()?) as usize)
}

/// Parses IDX bytes: `dims` is 1 for labels, 3 for images. Returns the dims and the payload.
pub fn parse_idx(bytes: &[u8], dims: usize) -> Result<(Vec<usize>, &[u8]), &'static str> {
    let magic = be32(bytes, 0).ok_or("file shorter than its header")?;
    if magic != 0x0800 | dims {
        return Err("wrong magic number (not an unsigned-byte IDX file of that rank)");
    }
    let mut shape = Vec::with_capacity(dims);
    let mut count: usize = 1;
    for i in 0..dims {
        let d = be32(bytes, 4 + 4 * i).ok_or("file shorter than its header")?;
        count = count.checked_mul(d).ok_or("dimensions overflow")?;
        shape.push(d);
    }
    let data = bytes.get(4 + 4 * dims..).unwrap_or_default();
    if data.len() != count {
        return Err("payload size does not match the dimensions");
    }
    Ok((shape, data))
}

/// Loads `<dir>/<prefix>-images-idx3-ubyte[.gz]` and the matching labels.
pub fn load(dir: &Path, prefix: &str) -> Result<MnistSet, MnistError> {
    let find = |kind: &str| -> PathBuf {
        let plain = dir.join(format!("{prefix}-{kind}"));
        let gz = dir.join(format!("{prefix}-{kind}.gz"));
        if gz.exists() {
            gz
        } else {
            plain
        }
    };
    let ip = find("images-idx3-ubyte");
    let lp = find("labels-idx1-ubyte");
    let ib = read_file(&ip)?;
    let lb = read_file(&lp)?;
    let (ishape, idata) = parse_idx(&ib, 3).map_err(|w| MnistError::Format(ip.clone(), w))?;
    let (lshape, ldata) = parse_idx(&lb, 1).map_err(|w| MnistError::Format(lp.clone(), w))?;
    let (&[count, rows, cols], &[labels]) = (ishape.as_slice(), lshape.as_slice()) else {
        return Err(MnistError::Format(ip, "not a rank-3 image file"));
    };
    if count != labels {
        return Err(MnistError::Format(
            lp,
            "label count differs from image count",
        ));
    }
    if ldata.iter().any(|&l| l > 9) {
        return Err(MnistError::Format(lp, "label above 9"));
    }
    Ok(MnistSet {
        rows,
        cols,
        images: idata.to_vec(),
        labels: ldata.to_vec(),
    })
}

impl MnistSet {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when the set has no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The pixels of image `i`.
    pub fn image(&self, i: usize) -> Option<&[u8]> {
        let n = self.rows * self.cols;
        self.images.get(i * n..(i + 1) * n)
    }

    /// Image `i` as model input (pixel / 255). Every MNIST layout (NHWC `[1,28,28,1]`, NCHW
    /// `[1,1,28,28]`, flat `[1,784]`) has the same element order for one grey image, so only
    /// the element count is checked against `shape`.
    pub fn to_input(&self, i: usize, shape: &[usize]) -> Option<Vec<f32>> {
        let img = self.image(i)?;
        if shape.iter().product::<usize>() != img.len() {
            return None;
        }
        Some(img.iter().map(|&p| f32::from(p) / 255.0).collect())
    }

    /// Image `i` as ASCII art, one line per row, darker characters for stronger ink.
    pub fn ascii_art(&self, i: usize) -> String {
        const RAMP: &[u8] = b" .:-=+*#%@";
        let mut s = String::new();
        if let Some(img) = self.image(i) {
            for row in img.chunks(self.cols.max(1)) {
                for &p in row {
                    let level = (usize::from(p) * (RAMP.len() - 1) + 127) / 255;
                    let c = RAMP.get(level).copied().unwrap_or(b'@');
                    s.push(c as char);
                    s.push(c as char);
                }
                s.push('\n');
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(dims: &[u32], payload: &[u8]) -> Vec<u8> {
        let mut b = vec![0, 0, 8, dims.len() as u8];
        for d in dims {
            b.extend_from_slice(&d.to_be_bytes());
        }
        b.extend_from_slice(payload);
        b
    }

    #[test]
    fn parses_and_rejects() {
        let img = idx(&[2, 2, 2], &[0, 255, 128, 0, 1, 2, 3, 4]);
        let (shape, data) = parse_idx(&img, 3).unwrap();
        assert_eq!(shape, [2, 2, 2]);
        assert_eq!(data.len(), 8);
        assert!(parse_idx(&img, 1).is_err());
        assert!(parse_idx(&img[..10], 3).is_err());
        assert!(parse_idx(&img[..img.len() - 1], 3).is_err());
        let huge = idx(&[0xffff_ffff, 0xffff_ffff, 0xffff_ffff], &[]);
        assert!(parse_idx(&huge, 3).is_err());
    }

    #[test]
    fn loads_a_directory_with_gzip() {
        let dir = std::env::temp_dir().join(format!("rtonnx-mnist-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let img = idx(&[1, 2, 2], &[0, 255, 255, 0]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &img).unwrap();
        std::fs::write(dir.join("t-images-idx3-ubyte.gz"), gz.finish().unwrap()).unwrap();
        std::fs::write(dir.join("t-labels-idx1-ubyte"), idx(&[1], &[7])).unwrap();
        let set = load(&dir, "t").unwrap();
        assert_eq!(set.len(), 1);
        assert_eq!(set.labels, [7]);
        assert_eq!(
            set.to_input(0, &[1, 1, 2, 2]).unwrap(),
            [0.0, 1.0, 1.0, 0.0]
        );
        assert!(set.to_input(0, &[1, 3]).is_none());
        assert_eq!(set.ascii_art(0), "  @@\n@@  \n");
        std::fs::write(dir.join("t-labels-idx1-ubyte"), idx(&[1], &[12])).unwrap();
        assert!(load(&dir, "t").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(matches!(load(&dir, "t"), Err(MnistError::Io(..))));
    }
}
