//! OpenSSL's "traditional" PEM encryption of PKCS#1 keys (`Proc-Type: 4,ENCRYPTED` with a
//! `DEK-Info:` header), as in legacy 2011 server certs. The key is
//! `EVP_BytesToKey(MD5, salt = IV[0..8], count = 1)` and the cipher is named in `DEK-Info`.

use aes::{Aes128, Aes192, Aes256};
use des::{Des, TdesEde3};
use md5::{Digest, Md5};
use zeroize::Zeroizing;

use crate::cipher::{CbcCipher, CbcError, cbc_decrypt};
use crate::error::{Error, ErrorKind, Result};

fn bytes_to_key(pass: &[u8], salt: &[u8], key_len: usize) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(key_len + 16));
    let mut prev: Zeroizing<Vec<u8>> = Zeroizing::new(Vec::new());
    while out.len() < key_len {
        let mut h = Md5::new();
        h.update(&*prev);
        h.update(pass);
        h.update(salt);
        prev = Zeroizing::new(h.finalize().to_vec());
        out.extend_from_slice(&prev);
    }
    out.truncate(key_len);
    out
}

fn dec<C>(key: &[u8], iv: &[u8], data: &[u8]) -> Result<Zeroizing<Vec<u8>>>
where
    C: CbcCipher,
{
    cbc_decrypt::<C>(key, iv, data).map_err(|e| match e {
        CbcError::KeyIvLength => Error::key_format("bad DEK-Info IV length"),
        CbcError::Padding => Error::new(
            ErrorKind::BadPassphrase,
            "wrong passphrase for the encrypted key",
        ),
    })
}

fn hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Decrypts a traditional encrypted PEM body given its `DEK-Info` value.
pub(crate) fn decrypt(dek_info: &str, pass: &[u8], data: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let (alg, iv_hex) = dek_info
        .split_once(',')
        .ok_or_else(|| Error::key_format("DEK-Info header has no IV"))?;
    let iv = hex(iv_hex.trim()).ok_or_else(|| Error::key_format("DEK-Info IV is not hex"))?;
    if iv.len() < 8 {
        return Err(Error::key_format("DEK-Info IV is too short"));
    }
    let salt = &iv[..8];
    match alg.trim() {
        "DES-EDE3-CBC" => dec::<TdesEde3>(&bytes_to_key(pass, salt, 24), &iv, data),
        "DES-CBC" => dec::<Des>(&bytes_to_key(pass, salt, 8), &iv, data),
        "AES-128-CBC" => dec::<Aes128>(&bytes_to_key(pass, salt, 16), &iv, data),
        "AES-192-CBC" => dec::<Aes192>(&bytes_to_key(pass, salt, 24), &iv, data),
        "AES-256-CBC" => dec::<Aes256>(&bytes_to_key(pass, salt, 32), &iv, data),
        other => Err(Error::unsupported(format!(
            "traditional PEM cipher {} is not supported",
            crate::error::quote(other)
        ))),
    }
}
