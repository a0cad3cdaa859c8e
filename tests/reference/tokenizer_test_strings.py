"""The strings the byte-level BPE test encodes (tests/models/test_json_tokenizer.cpp): hand-picked
cases for each branch of GPT-2's pre-tokeniser expression, then random mixtures of the character
classes that stress it (letters of several scripts, digits, punctuation, whitespace runs, emoji and
their joiners, combining marks, contractions). Deterministic (seed 17). Prints a JSON list.
U+FEFF and U+0085 are left out: JavaScript's \\s (the reference encoder's) counts U+FEFF as space
and Oniguruma's (the tokenizers library's) U+0085, where PCRE2's counts neither."""
import json
import random

HAND = [
    "", " ", "  ", "a", "Hello world", "Hello, world!", " leading space", "trailing space ", "two  spaces",
    "tab\tseparated\tvalues", "line one\nline two", "windows\r\nline end", "\n\n\n", "   \n  \n",
    "I'm sure it's what you'd've done, we'll see, they're here, we've won, I'd go",
    "DON'T SHOUT: IT'S LOUD", "rock'n'roll", "'s 't 're 've 'm 'll 'd", "''quoted''", "l'amour d'été",
    "1234567890", "3.14159", "1,000,000", "$19.99 (USD)", "2024-01-31T12:00:00Z", "+49 30 1234567", "007",
    "e-mail: someone@example.com", "https://example.org/path?q=1&r=2#frag", "C:\\Program Files\\x",
    "def f(x):\n    return x**2  # square", "if (a && b) { c(); } else { d[i] = 0; }", "<html><body>hi</body></html>",
    "naïve café résumé façade", "Ångström Øresund Ærø", "straße Grüße", "Αθήνα και Θεσσαλονίκη",
    "Москва — столица России.", "日本語のテキストです。", "中文测试：你好，世界！", "한국어 문장입니다",
    "العربية نص", "עברית", "हिन्दी पाठ", "ไทย ภาษา", "ქართული", "Ελληνικά 123 English",
    "emoji 😀😃😄", "family 👨‍👩‍👧‍👦", "thumbs 👍🏽 up", "flag 🇩🇪🇫🇷", "heart ❤️ red", "✓ ✗ ★ ☆ ♥",
    "e\u0301 combining acute", "a\u0308o\u0308u\u0308", "zero\u200bwidth", "non\u00a0breaking space",
    "ideographic\u3000space", "em\u2003space", "soft\u00adhyphen", "bell\x07char", "nul\x00byte", "del\x7f",
    "…‘’“”–—•", "½ ¼ ² ³ ⅓ Ⅻ", "١٢٣ ٤٥٦", "①②③", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙", "𐍈 gothic",
    "a" * 50, "ab" * 40, "!!!???...", "----====____", "      indented", "mixed\t \t whitespace\t",
    "<|endoftext|>", "<s> </s>", "ĠĊ", "The quick brown fox jumps over the lazy dog.",
]

POOLS = {
    "ascii": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "digits": "0123456789",
    "punct": "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
    "space": [" ", "  ", "\t", "\n", " \n", "\r\n", "   ", "\u00a0", "\u3000"],
    "latin": "àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿœšžßÀÉÖÜ",
    "greek": "αβγδεζηθικλμνξοπρστυφχψωΑΒΓΔ",
    "cyrillic": "абвгдежзийклмнопрстуфхцчшщыэюяАБВГ",
    "cjk": "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经",
    "emoji": ["😀", "🎉", "🚀", "👍🏻", "👩‍💻", "❤️", "🇯🇵", "🙂", "🔥", "💯"],
    "combining": ["e\u0301", "a\u0300", "n\u0303", "o\u0308"],
    "contraction": ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T"],
}
WORDS = ["the", "of", "and", "tokenizer", "byte", "pair", "encoding", "GPT", "model", "naïve", "Zürich", "東京",
         "Москва", "it's", "don't", "3rd", "42", "x86_64", "e.g.", "U.S.A.", "co-operate", "well-known"]


def random_string(rng):
    parts = []
    for _ in range(rng.randint(1, 12)):
        kind = rng.choice(list(POOLS) + ["word", "word", "word"])
        if kind == "word":
            parts.append(rng.choice(WORDS))
            continue
        pool = POOLS[kind]
        n = rng.randint(1, 4) if kind in ("space", "emoji", "combining", "contraction") else rng.randint(1, 8)
        parts.append("".join(rng.choice(pool) for _ in range(n)))
        if rng.random() < 0.5:
            parts.append(" ")
    return "".join(parts)


def main():
    rng = random.Random(17)
    strings = HAND + [random_string(rng) for _ in range(420 - len(HAND))]
    print(json.dumps(strings, ensure_ascii=False, indent=0))


if __name__ == "__main__":
    main()
