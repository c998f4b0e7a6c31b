using System.Text;

namespace Airlock.FunctionalTests.Infrastructure;

/// <summary>Request bodies shaped like what Claude Code sends, written as raw text so every byte is deliberate.</summary>
internal static class RequestBodies
{
    public const string Model = "claude-opus-5-5";

    /// <summary>A marker placed in prompts; tests assert it never reaches the audit store.</summary>
    public const string ContentMarker = "ZEBRA-PROMPT-MARKER-93017";

    /// <summary>A streaming turn with the top-level keys Claude Code sends (see reference/claude-code.md §1.3).</summary>
    public static string Streaming(string model = Model, string prompt = "Say hello. " + ContentMarker) =>
        "{\"model\":\"" + model + "\",\"max_tokens\":128000,\"stream\":true," +
        "\"system\":[{\"type\":\"text\",\"text\":\"x-anthropic-billing-header: cc_version=2.1.330; cc_entrypoint=sdk-cli;\"}]," +
        "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"" + prompt + "\",\"cache_control\":{\"type\":\"ephemeral\"}}]}]," +
        "\"metadata\":{\"user_id\":\"{\\\"device_id\\\":\\\"dev-1\\\",\\\"session_id\\\":\\\"s-1\\\"}\"}," +
        "\"thinking\":{\"type\":\"adaptive\"}}";

    /// <summary>A non-streaming turn.</summary>
    public static string NonStreaming(string model = Model) =>
        "{\"model\":\"" + model + "\",\"max_tokens\":64,\"messages\":[{\"role\":\"user\",\"content\":\"hello " + ContentMarker + "\"}]}";

    /// <summary>
    /// A body a re-serializing gateway would change: odd whitespace and key order, unknown fields (top level and
    /// nested), \u escapes (including a surrogate pair), raw non-ASCII, a number with an exponent, CRLF between tokens.
    /// </summary>
    public static byte[] Unusual()
    {
        const string text = "{\r\n  \"stream\" :true ,\t\"model\":  \"claude-opus-5-5\",\n" +
            "\"future_field_2027\": {\"nested\": [1, 2.50, -0.0, 1e3, null, true], \"k\" : \"v\"},\n" +
            "   \"messages\":[ {\"role\":\"user\",\"content\":\"caf\\u00e9 \\ud83d\\ude00 \\\"quoted\\\" \\/ raw é 😀 " + ContentMarker + "\"} ],\n" +
            "\"max_tokens\":   1024 ,\"context_management\":{\"edits\":[]}, \"safeguards\":{}   }\n";
        return Encoding.UTF8.GetBytes(text);
    }

    /// <summary>A syntactically valid body whose <c>messages</c> nest <paramref name="depth"/> arrays deep.</summary>
    public static string Nested(int depth) =>
        "{\"model\":\"" + Model + "\",\"max_tokens\":16,\"messages\":" + new string('[', depth) + new string(']', depth) + "}";
}
