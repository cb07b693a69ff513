//! EMULATOR-ONLY service-account key: `tryon run` offline and the tests sign self-signed JWTs
//! with it, and the emulator verifies them. Google has never seen this key; it grants
//! nothing anywhere. Tooling only: the function's build does not contain it.

/// The key's service-account email (`iss` and `sub` of its JWTs).
pub const CLIENT_EMAIL: &str = "tryon-emulator@tryon-local.iam.gserviceaccount.com";

/// The key id (`kid` in the JWT header).
pub const PRIVATE_KEY_ID: &str = "0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e01";

/// A 2048-bit RSA key, PKCS#8 PEM, generated for the emulator.
pub const PRIVATE_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----\n\
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQC8sInX0XQlRNN9\n\
kkRusBt1Yco7NDCS/tIyTHglSbh7M4d+YFShMNLSl8VuOYqVoNI5UzOrMzPeLr1q\n\
XFlWumxMAls48ZgXWsVSvMneua1C2xxTVQ0lrcoqbbJ9PlI3OTc8ZA4dUTmiTqaK\n\
j4hHUIi30psqklirvTK2QIJjBbaEjWZFHeme7e0NMHNGjMw3F+WrtCO9hevmPK0j\n\
B+RSxqAduT+kAeLUhET1NmRlvNY2jCjncLlCGnuNPTkW/snGUV/sll3Ty6B/MsJK\n\
9dY/vneBN8LxU8FUKaF/d4jZ3LGinnmSZ2cfpxzcnu3yymK6nrApw5lkN0eNLA+T\n\
nFHZFFPBAgMBAAECggEAI36hG4JY8ybQkvtYGKtTqv/fi0YMyiYZ0+DrK/aDd9eQ\n\
ai9EVEMrMXbf6pVz8qQ7T5HNcyvRWr8XniGro6MzepPp5Zsa5W/LlT4Sym1KwLwX\n\
hryF2dvonxUeIa2+yQkgESHwPscYDKZ3cTLBa8rkQRIi4r3/ZKUVXE/jxy1csW/W\n\
GgI/iitQkoMKy/yqKgfqyvp50+8d0La+seCy764thy+MrcN44N1MhOziUz7T0cd1\n\
zgi4UGF+7nbU/UNkw9QyLMAw207uFdqdLC95id3eXU/d49Y4kee5XzPkqj/qN4WH\n\
KZ8a/TSnU+KqiUkeVtNsBFy4YANUPPyBnHe1/g8VzQKBgQDqyUshpcfkFhyr5+7Y\n\
dzcS9YDpBSjPrt+EDpg5McRrkpz4gT4BVCBA33V24oNrbCKf1cUJb6sLXPohWGzB\n\
sbn+75BUpx6nrhxFaErA1Im/vE23MzmfdUJtoEWFHTO8MTwPGcWk+NUdbKpv2fGc\n\
pM88yNwxznzMNeBitZ4LwqTeLQKBgQDNvQJBPTxiRR26tmiKZdfjJPo84F6HCAiH\n\
M4YqlsWDqCoq4Mpl8jOim6Euy8prhTtjUVt74sgUMZ3ihrAupbs260BSZJ3eDK9z\n\
JT0kaiTFPfyfFssrP7MiDoY/JL/qXwHade1DlKEoNuMLz5qyzkYLb+GUiXUEQCRz\n\
5zt5pcLcZQKBgQCCdsJR+y39FzBtcd7t2Cj5VwR/94b7CMBZQEbkGTx9TiX9jMuo\n\
r1eQ1NsP6cR/L8J5sK7hlHSmRs8TMnCUnS6uc+5uq8LECGLbSp2nUzMMIRXKRCOz\n\
8NOt2Q5obpat72nhNj/2cPLze8ulhaTVl1s0+qQo5QXB7/o0v5kIDevRLQKBgHq1\n\
MJMYots5vfGOuetRsuGXPGjyqW6ALBX3dR4RrtxHgF7yk8UaIBHsIMZ4ZdKbNECY\n\
VageKpdgwHpLOumXj4HB7is2N7Iofrx+iWkepa++uN1qCuNQqta1MvyWPqDa6ZAS\n\
peCY1UXW9rQkrm/W94/6uuCM224dk6BNWfvEEeTBAoGBALVS3dIT5yo1xzngVZz6\n\
H1FuCvX7lHyLbJe3wxMAbYqT6UD/kfqloHbyRf0iVIF7re6psFX4dEZ2ZKRXQ+tL\n\
43e57PN1KlCIc1YiugKq+idDj/rzIj54CGDhEb181P5oOtrZ7DvMZFmWNgVuYJJH\n\
s3XJHmpWKGCN5tAY/AnrpuOn\n\
-----END PRIVATE KEY-----\n";

/// The key as Google's service-account key JSON.
pub fn service_account_json(project_id: &str) -> String {
    serde_json::json!({
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": PRIVATE_KEY_ID,
        "private_key": PRIVATE_KEY_PEM,
        "client_email": CLIENT_EMAIL,
        "client_id": "100000000000000000001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
    })
    .to_string()
}

/// The public half (PKCS#1 `RSAPublicKey`, DER), for verifying signatures.
pub fn public_key_der() -> Option<Vec<u8>> {
    use aws_lc_rs::signature::KeyPair;
    use base64::Engine;
    let b64: String = PRIVATE_KEY_PEM.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(&der).ok()?;
    Some(pair.public_key().as_ref().to_vec())
}
