using System.Text;

namespace Airlock.Inspection.Tests.Rules;

/// <summary>
/// Synthesizes FAKE, format-valid tokens for the rule tests: right prefix, length, alphabet and, where the
/// format has one, a correct checksum computed here. Values come from a seeded <see cref="Random"/>, so every
/// run builds the same strings and no real credential is ever written into the repository.
/// </summary>
internal sealed class FakeTokens
{
    public const string Upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    public const string Lower = "abcdefghijklmnopqrstuvwxyz";
    public const string Digit = "0123456789";
    public const string Letters = Upper + Lower;
    public const string Alnum = Upper + Lower + Digit;
    public const string LowerAlnum = Lower + Digit;
    public const string UpperAlnum = Upper + Digit;
    public const string HexLower = "0123456789abcdef";
    public const string HexUpper = "0123456789ABCDEF";
    public const string Base64Chars = Alnum + "+/";
    public const string Base64UrlChars = Alnum + "-_";

    // RFC 4648 base32 alphabet (AWS key ids use it after the prefix).
    public const string Base32Upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

    // Bech32 data alphabet (BIP 173), upper-cased as age secret keys print it.
    public const string Bech32Upper = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L";

    // GitHub / npm tokens encode their CRC32 with this base62 alphabet, digits first.
    private const string Base62Alphabet = Digit + Upper + Lower;

    private readonly Random _random;

    public FakeTokens(int seed) => _random = new Random(seed);

    /// <summary>A generator whose sequence depends only on <paramref name="name"/> (FNV-1a), so the examples of
    /// one rule do not change when examples of another rule are added.</summary>
    public static FakeTokens For(string name)
    {
        var hash = 2166136261u;
        foreach (var ch in name)
        {
            hash = (hash ^ ch) * 16777619u;
        }

        return new FakeTokens((int)(hash & 0x7FFFFFFF));
    }

    public string Chars(string alphabet, int length)
    {
        var sb = new StringBuilder(length);
        for (var i = 0; i < length; i++)
        {
            sb.Append(alphabet[_random.Next(alphabet.Length)]);
        }

        return sb.ToString();
    }

    public string AlnumOf(int length) => Chars(Alnum, length);

    public string HexOf(int length) => Chars(HexLower, length);

    public string B64Of(int length) => Chars(Base64Chars, length);

    public string B64UrlOf(int length) => Chars(Base64UrlChars, length);

    public string DigitsOf(int length) => Chars("123456789", 1) + Chars(Digit, length - 1);

    public byte[] Bytes(int count)
    {
        var bytes = new byte[count];
        _random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>Standard base64 of <paramref name="byteCount"/> random bytes, padded.</summary>
    public string Base64Key(int byteCount) => Convert.ToBase64String(Bytes(byteCount));

    public string Uuid() => $"{HexOf(8)}-{HexOf(4)}-4{HexOf(3)}-a{HexOf(3)}-{HexOf(12)}";

    /// <summary>
    /// GitHub-style token: prefix + 30 base62 chars + CRC32 (IEEE) of those 30 chars in base62, left-padded
    /// to 6 chars. Format: github.blog 2021-04-05 "Behind GitHub's new authentication token formats"; npm_
    /// tokens use the same scheme (github.blog changelog 2021-09-23).
    /// </summary>
    public string ChecksummedToken(string prefix)
    {
        var payload = AlnumOf(30);
        return prefix + payload + ChecksumOf(payload);
    }

    /// <summary>The same token with its last checksum character changed, so the checksum no longer holds.</summary>
    public static string BreakChecksum(string token)
    {
        var last = token[^1];
        var replacement = last == 'A' ? 'B' : 'A';
        return token[..^1] + replacement;
    }

    public static string ChecksumOf(string payload)
    {
        var value = Crc32(Encoding.ASCII.GetBytes(payload));
        var chars = new char[6];
        for (var i = chars.Length - 1; i >= 0; i--)
        {
            chars[i] = Base62Alphabet[(int)(value % 62)];
            value /= 62;
        }

        return new string(chars);
    }

    /// <summary>An HS256-shaped JWT (RFC 7519): JSON header and claims, base64url without padding, and a signature
    /// that is the canonical encoding of 32 random bytes (a decoder rejects stray bits in the last character).</summary>
    public string Jwt()
    {
        var header = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
        var claims = $"{{\"sub\":\"{DigitsOf(10)}\",\"name\":\"Fake User\",\"iat\":{DigitsOf(10)},\"scope\":\"read:items\"}}";
        return $"{Base64Url(Encoding.UTF8.GetBytes(header))}.{Base64Url(Encoding.UTF8.GetBytes(claims))}.{Base64Url(Bytes(32))}";
    }

    /// <summary>An RS256-shaped OIDC id token the size real ones have (~1.6 K chars): many claims, 256-byte signature.</summary>
    public string LongJwt()
    {
        var header = $"{{\"alg\":\"RS256\",\"kid\":\"{HexOf(40)}\",\"typ\":\"JWT\"}}";
        var groups = string.Join(",", Enumerable.Range(0, 12).Select(_ => $"\"{Uuid()}\""));
        var claims = $"{{\"iss\":\"https://login.fake.test/{Uuid()}/v2.0\",\"aud\":\"{Uuid()}\",\"sub\":\"{AlnumOf(43)}\","
            + $"\"iat\":{DigitsOf(10)},\"nbf\":{DigitsOf(10)},\"exp\":{DigitsOf(10)},\"name\":\"Fake User\",\"preferred_username\":\"fake.user@fake.test\","
            + $"\"oid\":\"{Uuid()}\",\"tid\":\"{Uuid()}\",\"groups\":[{groups}],\"nonce\":\"{AlnumOf(32)}\"}}";
        return $"{Base64Url(Encoding.UTF8.GetBytes(header))}.{Base64Url(Encoding.UTF8.GetBytes(claims))}.{Base64Url(Bytes(256))}";
    }

    /// <summary>A PEM block (RFC 7468 layout) whose body is random base64 in 64-char lines.</summary>
    public string Pem(string label, int lines, string newline = "\n", string headers = "")
    {
        var sb = new StringBuilder();
        sb.Append("-----BEGIN ").Append(label).Append("-----").Append(newline);
        sb.Append(headers);
        for (var i = 0; i < lines; i++)
        {
            sb.Append(i == lines - 1 ? B64Of(40) + "==" : B64Of(64)).Append(newline);
        }

        sb.Append("-----END ").Append(label).Append("-----");
        return sb.ToString();
    }

    public static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string Base64Of(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    // CRC-32 as in IEEE 802.3 / zlib: reflected polynomial 0xEDB88320, initial value and final xor 0xFFFFFFFF.
    private static uint Crc32(byte[] data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
            }
        }

        return ~crc;
    }
}
