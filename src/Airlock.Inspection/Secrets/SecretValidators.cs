using System.Buffers.Text;
using System.Text.Json;

namespace Airlock.Inspection;

/// <summary>
/// Offline structural validators a rule can name with <c>validate = "…"</c>. A match whose secret fails
/// its validator is dropped. None of them contacts a provider: sending a secret to test it would itself
/// be a disclosure.
/// </summary>
public static class SecretValidators
{
    public const string GitHubChecksum = "github-checksum";
    public const string NpmChecksum = "npm-checksum";
    public const string Jwt = "jwt";
    public const string Luhn = "luhn";
    public const string Base64Json = "base64-json";

    private const int MaxDecodedLength = 16 * 1024;

    /// <summary>The validator names a rule pack may use.</summary>
    public static IReadOnlyList<string> Names { get; } = [GitHubChecksum, NpmChecksum, Jwt, Luhn, Base64Json];

    public static bool IsKnown(string name) => Names.Contains(name, StringComparer.Ordinal);

    /// <summary>Runs validator <paramref name="name"/> on <paramref name="value"/>.</summary>
    public static bool Validate(string name, ReadOnlySpan<char> value) => name switch
    {
        GitHubChecksum => IsValidPrefixedChecksumToken(value, isNpm: false),
        NpmChecksum => IsValidPrefixedChecksumToken(value, isNpm: true),
        Jwt => IsStructurallyValidJwt(value),
        Luhn => PassesLuhn(value),
        Base64Json => IsBase64JsonObject(value),
        _ => throw new ArgumentException($"Unknown validator '{name}'.", nameof(name)),
    };

    /// <summary>
    /// GitHub (ghp_, gho_, ghu_, ghs_, ghr_) and npm (npm_) tokens: 4-char prefix, 30 base62 payload chars,
    /// then 6 chars = CRC32 (IEEE) of the 30 payload chars (prefix excluded), base62-encoded with alphabet
    /// 0-9A-Za-z and left-padded with '0'.
    /// Sources: https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/ ("CRC32 …
    /// encode the result with a Base62 implementation, using leading zeros for padding") and
    /// https://github.blog/2021-09-23-announcing-npms-new-access-token-format/ (same scheme for npm_). The
    /// blog does not spell out the CRC input or the alphabet; both were confirmed against two independent
    /// public validators (Samsung CredSweeper ValueGitHubCheck, DataDog sensitive-data-scanner
    /// GithubTokenChecksum: CRC over the payload after the prefix) and the npm example token in
    /// secretlint issue #200, whose checksum only matches with the 0-9A-Za-z alphabet.
    /// The secret may be given with its prefix (40 chars) or as the 36 chars after it.
    /// </summary>
    internal static bool IsValidPrefixedChecksumToken(ReadOnlySpan<char> value, bool isNpm)
    {
        if (value.Length == 40)
        {
            var prefix = value[..4];
            var prefixOk = isNpm
                ? prefix.SequenceEqual("npm_")
                : prefix[0] == 'g' && prefix[1] == 'h' && prefix[2] is 'p' or 'o' or 'u' or 's' or 'r' && prefix[3] == '_';
            if (!prefixOk)
            {
                return false;
            }

            value = value[4..];
        }

        if (value.Length != 36)
        {
            return false;
        }

        foreach (var ch in value)
        {
            if (!char.IsAsciiLetterOrDigit(ch))
            {
                return false;
            }
        }

        Span<char> expected = stackalloc char[6];
        Span<byte> ascii = stackalloc byte[30];
        for (var i = 0; i < ascii.Length; i++)
        {
            ascii[i] = (byte)value[i];
        }
        Base62.EncodePadded(System.IO.Hashing.Crc32.HashToUInt32(ascii), expected);
        return value[30..].SequenceEqual(expected);
    }

    /// <summary>JWS compact form (RFC 7515 §7.1): three base64url parts; the header is a JSON object with a string
    /// "alg" (RFC 7515 §4.1.1) and the payload decodes. The signature may be empty (alg "none").</summary>
    internal static bool IsStructurallyValidJwt(ReadOnlySpan<char> value)
    {
        var first = value.IndexOf('.');
        if (first <= 0)
        {
            return false;
        }

        var rest = value[(first + 1)..];
        var second = rest.IndexOf('.');
        if (second <= 0)
        {
            return false;
        }

        var header = value[..first];
        var payload = rest[..second];
        var signature = rest[(second + 1)..];
        if (signature.Contains('.') || (!signature.IsEmpty && !Base64Url.IsValid(signature)))
        {
            return false;
        }

        if (!TryDecodeBase64Url(header, out var headerBytes) || !TryDecodeBase64Url(payload, out _))
        {
            return false;
        }

        try
        {
            using var doc = JsonDocument.Parse(headerBytes);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("alg", out var alg)
                && alg.ValueKind == JsonValueKind.String;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>Luhn mod-10 check (ISO/IEC 7812-1 Annex B) over the digits; spaces and dashes are ignored.</summary>
    public static bool PassesLuhn(ReadOnlySpan<char> value)
    {
        var sum = 0;
        var digits = 0;
        var doubleIt = false;
        for (var i = value.Length - 1; i >= 0; i--)
        {
            var ch = value[i];
            if (ch is ' ' or '-')
            {
                continue;
            }

            if (!char.IsAsciiDigit(ch))
            {
                return false;
            }

            var d = ch - '0';
            if (doubleIt)
            {
                d *= 2;
                if (d > 9)
                {
                    d -= 9;
                }
            }

            sum += d;
            digits++;
            doubleIt = !doubleIt;
        }

        return digits >= 2 && sum % 10 == 0;
    }

    /// <summary>Standard or URL-safe base64 (padding optional) that decodes to a JSON object.</summary>
    internal static bool IsBase64JsonObject(ReadOnlySpan<char> value)
    {
        if (value.Length < 4 || value.Length > MaxDecodedLength * 2)
        {
            return false;
        }

        Span<char> normalized = value.Length <= 1024 ? stackalloc char[value.Length] : new char[value.Length];
        for (var i = 0; i < value.Length; i++)
        {
            normalized[i] = value[i] switch
            {
                '+' => '-',
                '/' => '_',
                var other => other,
            };
        }

        if (!TryDecodeBase64Url(normalized, out var bytes))
        {
            return false;
        }

        try
        {
            using var doc = JsonDocument.Parse(bytes);
            return doc.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool TryDecodeBase64Url(ReadOnlySpan<char> value, out byte[] bytes)
    {
        bytes = [];
        var trimmed = value.TrimEnd('=');
        if (trimmed.IsEmpty || trimmed.Length > MaxDecodedLength * 2 || !Base64Url.IsValid(trimmed, out var length))
        {
            return false;
        }

        bytes = new byte[length];
        return Base64Url.TryDecodeFromChars(trimmed, bytes, out var written) && written == length;
    }
}

/// <summary>Base62 with the 0-9A-Za-z alphabet (the order GitHub and npm tokens use).</summary>
internal static class Base62
{
    private const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    /// <summary>Writes <paramref name="value"/> into all of <paramref name="destination"/>, left-padded with '0'.</summary>
    public static void EncodePadded(uint value, Span<char> destination)
    {
        for (var i = destination.Length - 1; i >= 0; i--)
        {
            destination[i] = Alphabet[(int)(value % 62)];
            value /= 62;
        }
    }
}
