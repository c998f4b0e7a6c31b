using System.Text.Encodings.Web;
using System.Text.Json;

namespace Airlock.Inspection.Messages;

/// <summary>
/// The typed placeholder that replaces a redacted value: <c>[REDACTED:&lt;rule-id&gt;:&lt;4-hex&gt;]</c>.
/// The hex is the keyed short hash of the value, so the same value gets the same placeholder on
/// every turn (the prompt cache keeps hitting) and two different secrets usually differ.
/// </summary>
public static class RedactionPlaceholder
{
    /// <summary>Formats the placeholder text.</summary>
    public static string Format(string ruleId, string shortHash) => $"[REDACTED:{ruleId}:{shortHash}]";

    /// <summary>The placeholder as the bytes of a JSON string's content (escaped where JSON needs it).</summary>
    public static byte[] ToJsonBytes(string placeholder)
    {
        return JsonEncodedText.Encode(placeholder, JavaScriptEncoder.UnsafeRelaxedJsonEscaping).EncodedUtf8Bytes.ToArray();
    }
}
