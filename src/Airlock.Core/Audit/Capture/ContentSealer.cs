using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Airlock.Core.Audit.Capture;

/// <summary>What one request's captured content holds once opened.</summary>
public sealed record CapturedContent
{
    /// <summary><c>redacted</c> (the body as forwarded, after redaction) or <c>full</c> (as received).</summary>
    public required string Mode { get; init; }

    /// <summary>The request body (UTF-8 text of the JSON the client sent, redacted in <c>redacted</c> mode).</summary>
    public string? Request { get; init; }

    /// <summary>The answer's text (text blocks concatenated), when there was one.</summary>
    public string? Response { get; init; }

    /// <summary>True when the request or the response was longer than the capture limit and was cut.</summary>
    public bool Truncated { get; init; }
}

/// <summary>
/// Encrypts captured content with AES-256-GCM under a period's data key: a random 12-byte nonce per blob, and the
/// record's request id as associated data, so a blob copied onto another record's row no longer opens.
/// </summary>
public static class ContentSealer
{
    /// <summary>Nonce size (AES-GCM standard 96 bits).</summary>
    public const int NonceSize = 12;

    /// <summary>Tag size.</summary>
    public const int TagSize = 16;

    private static readonly byte[] Domain = "AIRLOCK-CONTENT\u0001"u8.ToArray();

    /// <summary>The UTC day a time belongs to: the data-key period.</summary>
    public static string PeriodOf(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>Seals <paramref name="content"/> for <paramref name="requestId"/>.</summary>
    public static SealedContent Seal(ReadOnlySpan<byte> dataKey, string period, string requestId, DateTimeOffset time, string? user, string? team,
        CapturedContent content)
    {
        ArgumentNullException.ThrowIfNull(content);
        var plaintext = JsonSerializer.SerializeToUtf8Bytes(content, CaptureJsonContext.Default.CapturedContent);
        try
        {
            var nonce = RandomNumberGenerator.GetBytes(NonceSize);
            var ciphertext = new byte[plaintext.Length + TagSize];
            using var aes = new AesGcm(dataKey, TagSize);
            aes.Encrypt(nonce, plaintext, ciphertext.AsSpan(0, plaintext.Length), ciphertext.AsSpan(plaintext.Length), Aad(requestId));
            return new SealedContent(requestId, time, user, team, content.Mode, period, nonce, ciphertext);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    /// <summary>Opens a sealed content.</summary>
    /// <exception cref="CryptographicException">Wrong key, altered ciphertext, or a blob moved to another record.</exception>
    public static CapturedContent Open(ReadOnlySpan<byte> dataKey, SealedContent sealedContent)
    {
        ArgumentNullException.ThrowIfNull(sealedContent);
        var ciphertext = sealedContent.Ciphertext;
        if (ciphertext.Length < TagSize || sealedContent.Nonce.Length != NonceSize)
        {
            throw new CryptographicException("sealed content is malformed");
        }
        var plaintext = new byte[ciphertext.Length - TagSize];
        try
        {
            using var aes = new AesGcm(dataKey, TagSize);
            aes.Decrypt(sealedContent.Nonce, ciphertext.AsSpan(0, plaintext.Length), ciphertext.AsSpan(plaintext.Length), plaintext, Aad(sealedContent.RequestId));
            return JsonSerializer.Deserialize(plaintext, CaptureJsonContext.Default.CapturedContent)
                ?? throw new CryptographicException("sealed content is empty");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    private static byte[] Aad(string requestId) => [.. Domain, .. Encoding.UTF8.GetBytes(requestId)];
}

[JsonSerializable(typeof(CapturedContent))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
internal sealed partial class CaptureJsonContext : JsonSerializerContext;
