package pe

import "golang.org/x/text/encoding/simplifiedchinese"

// commonHanzi holds roughly the thousand most frequent Simplified Chinese
// characters of modern text (after the frequency lists of Jun Da and of the
// 现代汉语常用字表), plus the characters of the era's censorship vocabulary
// that were not already in. Ordinary Chinese text draws well over half of
// its characters from this set; random bytes that happen to decode as
// GB2312 hanzi draw about one in seven. The GBK and UTF-16 plausibility
// filters in strings.go rest on that gap.
const commonHanziText = `
的一是不了人我在有他这中大来上个国到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持取设始版双历越史商千片容研像找友孩站广改议形委早房音火际则首单据导影失拿网香似斯专石若兵弟谁校读志飞观争究包组造落视济喜离虽坏兴宣
乎线器格故切哪夜装木福复随队类推帮河养哥愿随传须负且般冲料吗族树试底注紧星球消息微严密容易顾证货急续足助假值获境质态需查找精确按照状况环境价格客户系统文件程序服务网络用户登录密码帐号聊天软件版本更新下载安装卸载设置选项帮助关于退出确定取消错误警告提示信息窗口菜单工具编辑查看搜索联系人添加删除发送接收消息视频语音通话呼叫拨打会议电话号码免费欢迎使用正在连接失败成功请稍候输入名称地址邮件资料个人隐私安全保护过滤器监控内容审查敏感词汇记录上传服务器版权所有公司有限北京上海广州深圳中国网通电信移动在线科技股份集团合作伙伴
法轮功六四天安门事件民主自由独立台湾西藏新疆达赖喇嘛真相游行示威抗议暴动镇压屠杀人权宗教迫害共产党领导人胡锦涛温家宝江泽民邓小平毛泽东习近平李鹏赵紫阳刘晓波异议分子反动色情赌博毒品枪支炸弹恐怖
希望害怕答应讲究练习锻炼担心感觉发现认识明白知道觉得喜欢需要应该可能已经开始结束继续准备决定选择希望打算同意反对支持帮忙照顾欣赏享受尊重理解相信怀疑担任负责管理控制统治利用改变发展提高增加减少降低扩大缩小保持维护坚持放弃失去得到获得取得实现完成达到满足符合适合属于包括包含表示显示证明说明解释介绍描述报告通知宣布声明承认否认批评表扬鼓励奖励惩罚处理解决克服避免防止阻止禁止允许要求请求申请邀请欢迎感谢道歉原谅祝贺
早晚午夜春夏秋冬年月日周星期点分秒钟头每次第零壹贰叁肆伍陆柒捌玖拾佰仟亿元角毛块斤两米里公尺寸厘毫克吨升度号层楼室厅厨卫街道路口村镇县省州区市场店铺馆院所局厂站台港湾岛湖江河海洋山峰岭谷林田地土石沙金银铜铁钢铝玉宝珠
`

// hanziSet is a bitset over the CJK Unified Ideographs block U+4E00..U+9FFF:
// the extractor asks for every candidate character, so no map lookups.
type hanziSet [(0x9FFF - 0x4E00 + 64) / 64]uint64

func (h *hanziSet) has(r rune) bool {
	if r < 0x4E00 || r > 0x9FFF {
		return false
	}
	i := r - 0x4E00
	return h[i/64]&(1<<(i%64)) != 0
}

var commonHanzi = func() *hanziSet {
	var h hanziSet
	for _, r := range commonHanziText {
		if r >= 0x4E00 && r <= 0x9FFF {
			i := r - 0x4E00
			h[i/64] |= 1 << (i % 64)
		}
	}
	return &h
}()

// gb2312Hanzi maps a GB2312 hanzi pair (lead 0xB0..0xF7, trail 0xA1..0xFE)
// to its rune, decoded once with x/text's GB18030 decoder.
var gb2312Hanzi = func() *[72 * 94]rune {
	var t [72 * 94]rune
	dec := simplifiedchinese.GB18030.NewDecoder()
	for lead := 0xB0; lead <= 0xF7; lead++ {
		for trail := 0xA1; trail <= 0xFE; trail++ {
			v, err := dec.Bytes([]byte{byte(lead), byte(trail)})
			if err != nil {
				continue
			}
			for _, r := range string(v) {
				t[(lead-0xB0)*94+trail-0xA1] = r
				break
			}
		}
	}
	return &t
}()

func gbkHanzi(lead, trail byte) rune { return gb2312Hanzi[(int(lead)-0xB0)*94+int(trail)-0xA1] }
