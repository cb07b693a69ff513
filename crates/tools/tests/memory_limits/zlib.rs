//! zlib streams of zero bytes at about 1000:1, written by hand: one dynamic-Huffman block
//! whose only codes are literal 0 (`10`), end of block (`11`) and a 258-byte match at
//! distance 1 (`0` + distance `0`), so each 258 zeros cost two bits.

#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u32,
    len: u32,
}

impl Bits {
    /// A number, least significant bit first (header fields, extra bits).
    fn put(&mut self, value: u32, bits: u32) {
        for i in 0..bits {
            self.acc |= ((value >> i) & 1) << self.len;
            self.len += 1;
            if self.len == 8 {
                self.out.push(self.acc as u8);
                (self.acc, self.len) = (0, 0);
            }
        }
    }

    /// A Huffman code, most significant bit first.
    fn code(&mut self, code: u32, bits: u32) {
        for i in (0..bits).rev() {
            self.put(code >> i, 1);
        }
    }

    fn zeros(&mut self, mut bits: u64) {
        while self.len != 0 && bits > 0 {
            self.put(0, 1);
            bits -= 1;
        }
        self.out.resize(self.out.len() + (bits / 8) as usize, 0);
        self.put(0, (bits % 8) as u32);
    }

    fn finish(mut self) -> Vec<u8> {
        if self.len > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

const LITERAL_ZERO: (u32, u32) = (0b10, 2);
const END_OF_BLOCK: (u32, u32) = (0b11, 2);

/// A zlib stream that inflates to `n` zero bytes.
pub fn zeros(n: u64) -> Vec<u8> {
    let mut b = Bits { out: vec![0x78, 0xDA], ..Bits::default() };
    b.put(1, 1); // the final block
    b.put(2, 2); // dynamic Huffman codes
    b.put(286 - 257, 5);
    b.put(0, 5); // one distance code
    b.put(18 - 4, 4); // code-length codes sent, in the order below
                      // Code-length alphabet: 18 (a run of zeros) is `0`, lengths 1 and 2 are `10` and `11`.
    for sym in [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1] {
        b.put(
            match sym {
                18 => 1,
                1 | 2 => 2,
                _ => 0,
            },
            3,
        );
    }
    let zero_run = |b: &mut Bits, run: u32| {
        b.code(0, 1);
        b.put(run - 11, 7);
    };
    // Literal/length lengths: 0 → 2, 1..=255 → 0, 256 → 2, 257..=284 → 0, 285 → 1; distance 0 → 1.
    b.code(0b11, 2);
    zero_run(&mut b, 138);
    zero_run(&mut b, 117);
    b.code(0b11, 2);
    zero_run(&mut b, 28);
    b.code(0b10, 2);
    b.code(0b10, 2);
    if n > 0 {
        b.code(LITERAL_ZERO.0, LITERAL_ZERO.1);
        b.zeros(2 * ((n - 1) / 258));
        for _ in 0..(n - 1) % 258 {
            b.code(LITERAL_ZERO.0, LITERAL_ZERO.1);
        }
    }
    b.code(END_OF_BLOCK.0, END_OF_BLOCK.1);
    let mut out = b.finish();
    // Adler-32 of n zeros: a stays 1, b gains 1 per byte.
    out.extend(((((n % 65521) as u32) << 16) | 1).to_be_bytes());
    out
}
