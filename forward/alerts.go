package forward

import "fmt"

// failedWords is the urgent alert for events that ran out of retries: what
// happened, why it matters, and what to do, in the worker's locale.
func (w *Worker) failedWords(endpoint, eventID, lastErr string) (title, text string) {
	if w.Locale == "en" {
		return fmt.Sprintf("payrecon urgent: events to %s failed after retrying for %s", endpoint, w.MaxAge),
			fmt.Sprintf("Event %s (and maybe others) was not accepted by %s: %s\nThe merchant's app has not learned of these payments.\n"+
				"Next: fix the endpoint, then payrecon events -config <your config> -status failed, and payrecon events replay -config <your config> -since <time>", eventID, endpoint, lastErr)
	}
	return fmt.Sprintf("payrecon 紧急：转发到 %s 的事件重试 %s 后失败", endpoint, w.MaxAge),
		fmt.Sprintf("事件 %s（可能还有其他）未被 %s 接收：%s\n商户应用尚未得知这些支付。\n"+
			"下一步：修复接收端后运行 payrecon events -config <配置文件> -status failed 查看，再 payrecon events replay -config <配置文件> -since <时间> 重发", eventID, endpoint, lastErr)
}

// goneWords is the urgent alert for an endpoint that answered 410 Gone.
func (w *Worker) goneWords(endpoint string) (title, text string) {
	if w.Locale == "en" {
		return fmt.Sprintf("payrecon urgent: endpoint %s answered 410 Gone and is disabled", endpoint),
			"Its events stay pending; nothing is lost.\nNext: fix or re-create the endpoint, then payrecon events replay -config <your config> -since <time> (which enables it again)"
	}
	return fmt.Sprintf("payrecon 紧急：接收端 %s 返回 410 Gone，已停用", endpoint),
		"其事件保留为待发送，不会丢失。\n下一步：修复或重建接收端后运行 payrecon events replay -config <配置文件> -since <时间>（会重新启用它）"
}
