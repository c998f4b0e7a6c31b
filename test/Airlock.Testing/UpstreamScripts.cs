namespace Airlock.Testing;

/// <summary>Ready-made responders for <see cref="ScriptedUpstream.Responder"/>.</summary>
public static class UpstreamScripts
{
    /// <summary>
    /// A one-tool round trip: every turn that does not answer a tool call gets the tool call
    /// (e.g. <c>ToolUse("Read", new { file_path })</c>); the turn that carries a <c>tool_result</c> gets
    /// <paramref name="finalText"/>. Claude Code then runs the tool and ends with the text.
    /// </summary>
    public static Func<RecordedRequest, UpstreamReply?> ToolRoundTrip(string toolName, object input, string finalText)
    {
        var toolUse = UpstreamReply.ToolUse(toolName, input);
        var text = UpstreamReply.Text(finalText);
        return request => request.LastMessageHasToolResult ? text : toolUse;
    }

    /// <summary>The same reply to every request (ignores the queue).</summary>
    public static Func<RecordedRequest, UpstreamReply?> Always(UpstreamReply reply) => _ => reply;
}
